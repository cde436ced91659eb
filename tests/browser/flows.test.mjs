// The seeds' tasks in a real browser: the red dot follows a new lead and its
// assignment without a reload, Run now assigns a backlog after capacity is raised, a
// schedule is set and shown, and manual assignment with eligible sellers, by keyboard
// only. Every screen is screenshot and checked by axe at both sizes.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launch, signIn, checkScreen } from "./harness.mjs";

let server;
let browser;

const seller = (name, country, capacity) => ({
  name, email: `${name.toLowerCase()}@example.com`, roles: ["seller"], record_access: null,
  attributes: { country }, assign_records: true, capacity, availability: null,
});

before(async () => {
  server = await startServer();
  browser = await launch();
  const { api } = server;
  await api("PUT", "/api/v1/sellers/sam", seller("Sam", "UK", 0));
  await api("PUT", "/api/v1/sellers/zoe", seller("Zoe", "FR", 10));
  await api("PUT", "/api/v1/segments/uk", { name: "UK trade shows", record_type: "lead", priority: 1, condition: 'record.country == "UK"' });
  await api("PUT", "/api/v1/segments/uk/rules/rr", {
    name: "UK round robin", priority: 1, active: true, condition: null, created_within_hours: null, assignment_window_hours: null,
    assign_to: { type: "sellers", match: "condition", condition: "seller.attributes.country == record.country", ids: [] },
    distribution: { method: "round_robin", available_within_hours: null, use_capacity: true, script: null },
  });
  await signIn(browser.page, server.base);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const lead = (id) => ({ id, record_type: "lead", name: `Lead ${id}`, topic: "Trade show", attributes: { country: "UK" } });

test("the red dot appears for a new unassigned lead and goes when it is assigned", async () => {
  const { page } = browser;
  await server.api("POST", "/api/v1/records?wait=true", lead("first"));
  await page.goto(server.base + "/console?type=lead");
  const badge = page.locator("#monitor-badge");
  await badge.getByText("1 unassigned").waitFor();
  await server.api("POST", "/api/v1/records?wait=true", lead("second"));
  // Polled every 300 ms: no reload.
  await badge.getByText("2 unassigned").waitFor({ timeout: 5000 });
  assert.equal(await page.locator("#monitor-badge .dot").count(), 1);
  await checkScreen(assert, page, "dot", "two-unassigned");
  await server.api("PUT", "/api/v1/sellers/sam", seller("Sam", "UK", 10));
  await server.api("POST", "/api/v1/assignments", { record_ids: ["first", "second"], assignee: { type: "seller", id: "sam" } });
  await page.locator("#monitor-badge .dot").waitFor({ state: "detached", timeout: 5000 });
  assert.doesNotMatch(await badge.innerText(), /unassigned/);
  await server.api("PUT", "/api/v1/sellers/sam", seller("Sam", "UK", 2));
});

test("run now assigns a backlog after capacity is raised", async () => {
  const { page } = browser;
  await server.api("POST", "/api/v1/records?wait=true", { records: ["b1", "b2", "b3"].map(lead) });
  await page.goto(server.base + "/console?type=lead");
  await page.getByRole("link", { name: "Run assignment rules for UK trade shows" }).click();
  await page.getByRole("heading", { name: /Run assignment rules/ }).waitFor();
  assert.equal(await page.locator("#unassigned-count").innerText(), "3");
  await checkScreen(assert, page, "runnow", "before");
  await server.api("PUT", "/api/v1/sellers/sam", seller("Sam", "UK", 10));
  await page.getByRole("button", { name: "Run now" }).click();
  await page.getByRole("status").getByText(/3 records assigned/).waitFor();
  assert.equal(await page.locator("#unassigned-count").innerText(), "0", "count updated without a reload");
  assert.equal(await page.locator("#run-history tbody tr").count(), 1, "the history shows the run");
  await checkScreen(assert, page, "runnow", "after");
  const runs = await server.api("GET", "/api/v1/segments/uk/runs");
  assert.equal(runs.items[0].trigger, "manual");
  assert.equal(runs.items[0].assigned, 3);
});

test("a schedule is set and shown, with no third time", async () => {
  const { page } = browser;
  await page.goto(server.base + "/console/segments/uk/runs");
  assert.equal(await page.locator('input[type="time"]').count(), 2);
  await page.getByLabel("Start date").fill("2026-11-24");
  for (const d of ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]) await page.getByLabel(d).check();
  await page.getByLabel("First time").fill("06:00");
  await page.getByLabel("Second time (optional)").fill("14:00");
  await page.getByLabel("Time zone").fill("Europe/London");
  await page.getByRole("button", { name: "Add schedule" }).click();
  await page.getByRole("status").getByText("Schedule saved.").waitFor();
  assert.match(await page.locator(".scheduled").innerText(), /Mon–Fri at 06:00 and 14:00 \(Europe\/London\)/);
  await checkScreen(assert, page, "schedule", "saved");
  await page.goto(server.base + "/console?type=lead");
  assert.equal(await page.locator("#segment-uk img[src$='calendar.svg']").count(), 1, "the calendar mark");
  await checkScreen(assert, page, "schedule", "home");
});

test("manual assignment with eligible sellers, by keyboard only", async () => {
  const { page } = browser;
  await server.api("PUT", "/api/v1/sellers/sam", seller("Sam", "UK", 0));
  await server.api("POST", "/api/v1/records?wait=true", { records: ["m1", "m2", "m3"].map(lead) });
  await page.goto(server.base + "/console/monitor/lead");
  await page.getByRole("table").waitFor();
  // Keyboard only: focus each checkbox and press Space.
  for (const name of ["Select Lead m1", "Select Lead m2"]) {
    await page.getByLabel(name).focus();
    await page.keyboard.press("Space");
  }
  await page.getByText("2 selected").waitFor();
  await checkScreen(assert, page, "assign", "selected");
  await page.getByRole("button", { name: "Assign…" }).focus();
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Assign 2 records" }).waitFor();
  await page.getByRole("link", { name: "Show eligible sellers" }).focus();
  await page.keyboard.press("Enter");
  await page.getByRole("group", { name: "Eligible sellers" }).waitFor();
  assert.equal(await page.getByLabel(/Zoe/).count(), 0, "Zoe is not eligible for UK leads");
  await checkScreen(assert, page, "assign", "eligible");
  await page.getByLabel(/Sam/).focus();
  await page.keyboard.press("Space");
  assert.ok(await page.getByLabel(/Sam/).isChecked());
  await page.getByRole("button", { name: "Assign", exact: true }).focus();
  await page.keyboard.press("Enter");
  await page.getByRole("status").getByText("2 of 2 assigned to seller sam.").waitFor();
  await checkScreen(assert, page, "assign", "result");
  const history = await server.api("GET", "/api/v1/assignments?record_type=lead");
  const manual = history.items.filter((e) => e.by === "manual" && ["m1", "m2"].includes(e.record_id));
  assert.equal(manual.length, 2);
  const m3 = await server.api("GET", "/api/v1/records/m3");
  assert.equal(m3.owner, null, "the unselected record stays unassigned");
  assert.deepEqual(browser.errors, [], "no console errors");
});
