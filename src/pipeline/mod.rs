//! Record processing: segmentation, assignment rules, distribution and sequence
//! connection, over a catalog snapshot and the seller book.

pub mod book;
pub mod catalog;
pub mod eligibility;
pub mod engine;
