// A browser walks the register's GOV.UK pages as a case reviewer would: sent to sign in
// (with a one-time code), lists the cases, filters them, opens one, is refused an empty
// coding form (the GOV.UK error summary), codes the case, and opens the analysis.
// Driven by playwright-core on Debian's chromium.
//
//   node tests/web/register_walk.mjs BASE_URL OUT_DIR
//   (username, password and one-time code in $VRU_WALK_USER, $VRU_WALK_PASSWORD,
//    $VRU_WALK_CODE; chromium at $VRU_CHROMIUM or /usr/bin/chromium)
//
// Prints one JSON object: {"ok": true, "steps": [...]} or {"ok": false, "error": ...}.
import { check, walker } from "./walk.mjs";

const [base, outDir] = process.argv.slice(2);
const username = process.env.VRU_WALK_USER;
const password = process.env.VRU_WALK_PASSWORD;
const code = process.env.VRU_WALK_CODE;
const { steps, shot, run } = walker(outDir);

await run(async (browser) => {
  const page = await (await browser.newContext()).newPage();

  // sign in: a visitor asking for the cases is sent to the sign-in page
  await page.goto(`${base}/register/cases`);
  check(page.url().includes("/sign-in"), "a visitor asking for the cases is sent to sign in");
  await page.fill("#username", username);
  await page.fill("#password", password);
  await page.fill("#one_time_code", code);
  await page.click("button:has-text('Sign in')");
  await page.waitForURL(`${base}/register/cases`);
  steps.push(`${username} signed in`);

  // list and filter
  const caption = await page.locator(".govuk-table__caption").innerText();
  check(/^3 cases/.test(caption), `the list counts the cases: ${caption}`);
  await shot(page, "cases");
  await page.fill("#year", "2021");
  await page.click("button:has-text('Filter cases')");
  await page.waitForURL("**/register/cases?year=2021**");
  const refs = await page.locator("tbody a.govuk-link").allInnerTexts();
  check(refs.length === 1 && refs[0] === "W-2", `filtering by year: ${refs}`);
  steps.push("cases listed and filtered");

  // view
  await page.click("a:has-text('W-2')");
  await page.waitForURL("**/register/cases/*");
  check((await page.locator("h1").innerText()) === "Case W-2", "the case page opens");
  const details = await page.locator(".govuk-summary-list").innerText();
  check(details.includes("Knife or sharp implement") && details.includes("Camden"),
    `the case's details are shown: ${details}`);
  await shot(page, "case");
  steps.push("case viewed");

  // code: an empty form first, to see the server's validation
  await page.fill("#coder", "");
  await page.click("button:has-text('Save coding')");
  const summary = page.locator(".govuk-error-summary");
  check(await summary.count() === 1, "the GOV.UK error summary is shown");
  check((await page.title()).startsWith("Error: "), "the page title starts 'Error: '");
  const problems = await summary.locator("li").allInnerTexts();
  check(problems.includes("Choose which coding this is"), `summary: ${problems}`);
  check(await page.locator("#coder-error").count() === 1, "the error is beside the field");
  await summary.locator("a[href='#coding_round']").click();
  await shot(page, "coding-errors");
  steps.push(`empty coding refused: ${problems.length} problems`);

  await page.check("input[name='coding_round'][value='first']");
  await page.fill("#coder", "RW");
  const radios = page.locator("input.govuk-radios__input[name^='f_'][value='no']");
  const n = await radios.count();
  for (let i = 0; i < n; i += 1) await radios.nth(i).check();
  await page.check("input[name='f_ace_abuse'][value='yes']");
  await page.check("input[name='f_school_exclusion'][value='not_known']");
  await page.click("button:has-text('Save coding')");
  await page.waitForURL("**/register/cases/*?done=coded");
  check((await page.locator(".govuk-notification-banner").innerText()).includes(
    "The coding was saved."), "the success banner is shown");
  const coded = await page.locator("#codings").innerText();
  check(coded.includes("First (RW)") && /Abuse\s+Yes/.test(coded) &&
    /School exclusion\s+Not known/.test(coded), `the coding is shown: ${coded}`);
  await shot(page, "coded");
  steps.push(`case coded (${n} factors)`);

  // analysis
  await page.click("a.govuk-service-navigation__link:has-text('Analysis')");
  await page.waitForURL(`${base}/register/analysis`);
  check((await page.locator("h1").innerText()) === "Analysis of the register",
    "the analysis opens");
  const prevalence = await page.locator("#prevalence").innerText();
  check(prevalence.includes("Four or more ACEs") && prevalence.includes("Abuse"),
    "the prevalence table is shown");
  await shot(page, "analysis");
  steps.push("analysis opened");

  await page.click("button:has-text('Sign out')");
  await page.waitForURL(`${base}/funding`);
  steps.push("signed out");
});
