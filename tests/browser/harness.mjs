// Shared by the browser tests: a real allot server (the built binary on a temporary
// data directory, port 0), Debian's chromium driven by playwright-core, API seeding,
// screenshots under target/console-shots/, and axe-core's WCAG 2.2 AA check.
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const root = join(here, "..", "..");
export const shots = join(root, "target", "console-shots");
export const ADMIN = "browser-test-admin-token";
export const SIZES = [
  { name: "1280", width: 1280, height: 800 },
  { name: "390", width: 390, height: 844 },
];

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** Starts `allot serve` and answers { base, api, stop }. */
export async function startServer() {
  const bin = process.env.ALLOT_BIN || join(root, "target", "release", "allot");
  const data = mkdtempSync(join(tmpdir(), "allot-browser-"));
  const child = spawn(bin, ["serve", "--data", data, "--bind", "127.0.0.1:0"], {
    env: { ...process.env, ALLOT_ADMIN_TOKEN: ADMIN, ALLOT_CONSOLE_POLL_MS: "300", RUST_LOG: "info", NO_COLOR: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const base = await new Promise((resolve, reject) => {
    let log = "";
    const timer = setTimeout(() => reject(new Error(`server did not start: ${log}`)), 30000);
    child.stderr.on("data", (chunk) => {
      log += chunk;
      const m = log.match(/addr=(127\.0\.0\.1:\d+)/);
      if (m) {
        clearTimeout(timer);
        resolve(`http://${m[1]}`);
      }
    });
    child.on("exit", (code) => reject(new Error(`server exited ${code}: ${log}`)));
  });
  async function api(method, path, body) {
    const res = await fetch(base + path, {
      method,
      headers: { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }
  async function stop() {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    rmSync(data, { recursive: true, force: true });
  }
  return { base, api, stop };
}

/** Debian's chromium, headless, with a fresh profile. */
export async function launch() {
  const profile = mkdtempSync(join(tmpdir(), "allot-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  });
  const page = context.pages()[0] || (await context.newPage());
  const errors = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  return {
    context,
    page,
    errors,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Signs in through the form. */
export async function signIn(page, base, token = ADMIN) {
  await page.goto(base + "/");
  await page.getByLabel("Access token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/console(\?.*)?$/);
}

/** A screenshot of the page as it is, at its current size. */
export async function shot(page, flow, step) {
  mkdirSync(shots, { recursive: true });
  const size = page.viewportSize();
  await page.screenshot({ path: join(shots, `${flow}-${step}-${size.width}.png`), fullPage: true });
}

/** axe-core's WCAG 2.2 AA violations of the page as it is. */
export async function axeViolations(page) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] } }),
  );
  return result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
}

/**
 * At both sizes: a screenshot, no axe violation and no horizontal page scroll. Leaves
 * the page at 1280×800.
 */
export async function checkScreen(assert, page, flow, step) {
  for (const size of SIZES) {
    await page.setViewportSize({ width: size.width, height: size.height });
    await shot(page, flow, step);
    assert.deepEqual(await axeViolations(page), [], `${flow}-${step} at ${size.name}: axe violations`);
    const scroll = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    assert.ok(scroll[0] <= scroll[1], `${flow}-${step} at ${size.name}: page scrolls sideways (${scroll[0]} > ${scroll[1]})`);
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}
