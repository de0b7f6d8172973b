// A real browser on the dashboard: without the token it asks for the printed link and shows no job;
// with it (#token= in the URL, kept in sessionStorage) counts change live, retry moves a dead job,
// and a screenshot is saved.
// Run by QueueCtl.Tests/Dashboard/DashboardBrowserTests with DASHBOARD_URL, DASHBOARD_TOKEN,
// QUEUECTL_BIN, QUEUECTL_HOME, FLAG_FILE and SCREENSHOT in the environment.
import { chromium } from "playwright-core";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";

const env = name => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const url = env("DASHBOARD_URL"), token = env("DASHBOARD_TOKEN"), bin = env("QUEUECTL_BIN"), home = env("QUEUECTL_HOME");

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const bare = await browser.newPage();
  await bare.goto(`${url}/`);
  await bare.locator("#message", { hasText: "#token=" }).waitFor({ timeout: 15000 })
    .catch(() => { throw new Error("without the token the page should ask for the link with #token="); });
  if (await bare.locator("tr.job").count() !== 0) throw new Error("without the token the page shows jobs");
  console.log("without the token: the page asks for the link");
  await bare.close();

  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  page.on("dialog", dialog => dialog.accept());   // every action asks first
  await page.goto(`${url}/#token=${token}`);
  if (new URL(page.url()).hash !== "") throw new Error("the token should leave the address bar");
  const count = state => page.locator(`#count-${state}`);
  const expectText = async (locator, text, what) => {
    await locator.filter({ hasText: new RegExp(`^${text}$`) }).waitFor({ timeout: 15000 })
      .catch(() => { throw new Error(`${what}: expected ${text}`); });
  };

  await expectText(count("pending"), "2", "pending before any worker");
  await page.reload();   // the token stays in this tab's sessionStorage
  await expectText(count("pending"), "2", "pending after a reload without #token=");
  await expectText(count("completed"), "0", "completed before any worker");
  console.log("page shows 2 pending");

  execFileSync(bin, ["worker", "start", "--home", home]);
  await expectText(count("completed"), "1", "completed once the worker ran the good job");
  await expectText(count("dead"), "1", "dead once the worker ran the failing job");
  console.log("counts changed live: 1 completed, 1 dead");

  await page.click(".card[data-state=dead]");
  const retry = page.locator("button.retry[data-id=flaky]");
  await retry.waitFor({ timeout: 15000 });
  writeFileSync(env("FLAG_FILE"), "");   // the next attempt of `flaky` succeeds
  await retry.click();
  await expectText(count("dead"), "0", "dead after retry");
  await expectText(count("completed"), "2", "completed after the retried job ran");
  console.log("retry moved the dead job, and it completed");

  await page.click(".card[data-state=completed]");
  await page.locator("tr.job[data-id=flaky]").click();
  await page.locator("#detail-state", { hasText: "completed" }).waitFor({ timeout: 15000 });
  await page.locator("#detail-log", { hasText: "second try" }).waitFor({ timeout: 15000 });
  await page.screenshot({ path: env("SCREENSHOT"), fullPage: true });
  console.log("screenshot saved");
} finally {
  await browser.close();
}
