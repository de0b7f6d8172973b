// The dashboard over time in a real browser: charts drawn from stats/ (seeded by the test), the
// queues table pausing a queue behind a confirm, search on the job list, cancel with its result,
// no polling while the tab is hidden, never two requests of a view in flight even when the server
// is slow; then the screenshot of README (light mode).
// Run by QueueCtl.Tests/Dashboard/DashboardBrowserOverTimeTests with DASHBOARD_URL,
// DASHBOARD_TOKEN and SCREENSHOT in the environment.
import { chromium } from "playwright-core";

const env = name => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const url = env("DASHBOARD_URL"), token = env("DASHBOARD_TOKEN");
const sleep = ms => new Promise(r => setTimeout(r, ms));
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 }, colorScheme: "light" });
  const dialogs = [];
  page.on("dialog", dialog => { dialogs.push(dialog.message()); dialog.accept(); });
  await page.goto(`${url}/#token=${token}`);

  await page.locator("#chart-throughput rect.s-completed").first().waitFor({ timeout: 15000 });
  await page.locator("#chart-depth path.l-ready").waitFor({ timeout: 15000 });
  await page.locator("#chart-age path.l-oldest").waitFor({ timeout: 15000 });
  if (await page.locator("#chart-throughput rect.s-failed").count() === 0) throw new Error("no failed bars");
  console.log("charts drawn");

  const dark = await browser.newPage({ colorScheme: "dark" });
  await dark.goto(`${url}/#token=${token}`);
  await dark.locator("#chart-throughput rect.s-completed").first().waitFor({ timeout: 15000 });
  const colors = await dark.evaluate(() => [getComputedStyle(document.body).backgroundColor,
    getComputedStyle(document.querySelector("#chart-throughput rect.s-completed")).fill]);
  if (colors[0] === "rgb(246, 247, 249)") throw new Error(`dark mode keeps the light background: ${colors}`);
  await dark.close();
  console.log("dark mode: " + colors.join(", "));

  await page.locator("tr.queue[data-queue=mail] button.pause").click();
  await page.locator("tr.queue[data-queue=mail] button.resume").waitFor({ timeout: 15000 });
  await page.locator("#message.ok", { hasText: "queue mail paused" }).waitFor({ timeout: 15000 });
  if (!dialogs.some(d => d.includes("Pause queue mail"))) throw new Error("pause did not ask first");
  console.log("queue paused from the page");

  await page.fill("#f-grep", "REPORT");
  await page.locator("tr.job[data-id=report-1]").waitFor({ timeout: 15000 });
  await page.waitForFunction(() => document.querySelectorAll("tr.job").length === 1, null, { timeout: 15000 });
  console.log("search narrowed the list");

  await page.locator("tr.job[data-id=report-1] button.cancel").click();
  await page.locator("#message.ok", { hasText: "report-1 cancelled: dead" }).waitFor({ timeout: 15000 });
  await page.fill("#f-grep", "");
  console.log("cancel confirmed and reported");

  // Hidden: no request at all for a while; shown again: requests resume at once.
  const requests = [];
  page.on("request", r => { if (r.url().includes("/api/")) requests.push(r.url()); });
  await page.evaluate(() => {
    Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
    document.dispatchEvent(new Event("visibilitychange"));
  });
  await sleep(500);
  requests.length = 0;
  await sleep(3000);
  if (requests.length !== 0) throw new Error(`polled while hidden: ${requests.join(" ")}`);
  await page.evaluate(() => {
    delete document.hidden; delete document.visibilityState;
    document.dispatchEvent(new Event("visibilitychange"));
  });
  await sleep(1000);
  if (!requests.some(u => u.includes("/api/status"))) throw new Error("polling did not resume when shown");
  console.log("no polling while hidden");

  // A slow server: every /api/status answer takes 2.5 s; never two in flight, and it backs off.
  let inFlight = 0, most = 0, count = 0;
  await page.route("**/api/status", async route => {
    inFlight++; count++; most = Math.max(most, inFlight);
    await sleep(2500);
    try { await route.continue(); } finally { inFlight--; }
  });
  await page.click(".card[data-state=dead]");   // a click asks for a refresh while one is in flight
  await sleep(9000);
  await page.unroute("**/api/status");
  if (most > 1) throw new Error(`${most} /api/status requests in flight at once`);
  if (count > 3) throw new Error(`${count} slow requests in 9 s: no back-off`);
  console.log(`one request in flight, backed off (${count} slow requests in 9 s)`);

  await page.click(".card[data-state=pending]");
  await page.locator("tr.job").first().waitFor({ timeout: 15000 });
  await page.screenshot({ path: env("SCREENSHOT"), fullPage: true });
  console.log("screenshot saved");
} finally {
  await browser.close();
}
