// Sign-in, home, monitor and status details in a real browser: each screen at both
// sizes is screenshot, checked by axe (WCAG 2.2 AA) and has no sideways page scroll.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launch, signIn, checkScreen, ADMIN } from "./harness.mjs";

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launch();
  const { api } = server;
  await api("PUT", "/api/v1/sellers/s1", {
    name: "Sam", email: "sam@example.com", roles: ["seller"], record_access: null,
    attributes: { country: "UK" }, assign_records: true, capacity: 0, availability: null,
  });
  await api("PUT", "/api/v1/segments/uk", { name: "UK trade shows", record_type: "lead", priority: 1, condition: 'record.country == "UK"' });
  await api("PUT", "/api/v1/segments/fr", { name: "French leads", record_type: "lead", priority: 2, condition: 'record.country == "FR"' });
  await api("PUT", "/api/v1/segments/uk/rules/rr", {
    name: "UK round robin", priority: 1, active: true, condition: null, created_within_hours: null, assignment_window_hours: 24,
    assign_to: { type: "sellers", match: "condition", condition: "seller.attributes.country == record.country", ids: [] },
    distribution: { method: "round_robin", available_within_hours: null, use_capacity: true, script: null },
  });
  await api("PUT", "/api/v1/segments/uk/schedule", { start_date: "2026-11-24", days: ["mon", "tue", "wed", "thu", "fri"], times: ["06:00", "14:00"], timezone: "Europe/London" });
  const records = [1, 2, 3].map((i) => ({ id: `lead-${i}`, record_type: "lead", name: `Lead number ${i}`, topic: "Trade show", attributes: { country: "UK" } }));
  records.push({ id: "lead-x", record_type: "lead", name: "<img src=x onerror=alert(1)>", topic: "XSS", attributes: { country: "UK" } });
  await api("POST", "/api/v1/records?wait=true", { records });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("a wrong token is refused, the right one signs in and shows the role", async () => {
  const { page } = browser;
  await page.goto(server.base + "/");
  await checkScreen(assert, page, "login", "form");
  await page.getByLabel("Access token").fill("wrong");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").waitFor();
  assert.match(await page.getByRole("alert").innerText(), /not valid/);
  assert.equal(await page.evaluate(() => document.activeElement?.id), "token", "focus on the field");
  await checkScreen(assert, page, "login", "wrong-token");
  await signIn(page, server.base, ADMIN);
  assert.match(await page.locator("header").innerText(), /System administrator/);
  const stored = await page.evaluate(() => JSON.stringify(localStorage) + JSON.stringify(sessionStorage) + document.cookie);
  assert.ok(!stored.includes(ADMIN), "the token is nowhere in the page's storage");
  assert.ok(!(await page.content()).includes(ADMIN), "nor in the DOM");
  // The refused sign-in logged its 401; later screens must log nothing.
  browser.errors.length = 0;
});

test("home shows segments and the red dot", async () => {
  const { page } = browser;
  await page.goto(server.base + "/console");
  await page.getByText("4 unassigned").waitFor();
  await checkScreen(assert, page, "home", "segments");
});

test("monitor and status details", async () => {
  const { page, errors } = browser;
  await page.getByRole("link", { name: /Monitor lead/ }).click();
  await page.getByRole("table").waitFor();
  assert.equal(await page.getByText("<img src=x onerror=alert(1)>").count(), 1, "the hostile name is text");
  await page.getByLabel("Select Lead number 1").check();
  assert.equal(await page.getByText("1 selected").count(), 1);
  await checkScreen(assert, page, "monitor", "unassigned");
  await page.getByRole("link", { name: "Lead number 1" }).click();
  await page.getByRole("heading", { name: "Lead number 1" }).waitFor();
  await checkScreen(assert, page, "record", "details");
  assert.deepEqual(errors, [], "no console errors (CSP included)");
});
