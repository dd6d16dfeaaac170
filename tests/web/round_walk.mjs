// A browser walks a whole funding round through the GOV.UK pages, as people would:
// the commissioning manager creates and opens a round and enters applications, two assessors
// score them, the manager moderates, allocates and publishes, and a visitor reads the public
// page and downloads the 360Giving file. Driven by playwright-core on Debian's chromium.
//
//   node tests/web/round_walk.mjs BASE_URL DECISION_JSON OUT_DIR
//   (passwords in $VRU_WALK_PASSWORD; chromium at $VRU_CHROMIUM or /usr/bin/chromium)
//
// Prints one JSON object: {"ok": true, "steps": [...]} or {"ok": false, "error": ...}.
import { check, walker } from "./walk.mjs";

const [base, decisionFile, outDir] = process.argv.slice(2);
const password = process.env.VRU_WALK_PASSWORD;
const ROUND = "walk-fund-2026";
const { steps, shot, run } = walker(outDir);

async function signIn(page, username) {
  await page.goto(`${base}/rounds`);
  check(page.url().includes("/sign-in"), "a visitor asking for /rounds is sent to sign in");
  await page.fill("#username", username);
  await page.fill("#password", password);
  await page.click("button:has-text('Sign in')");
  await page.waitForURL(`${base}/rounds`);
  steps.push(`${username} signed in`);
}

async function signOut(page) {
  await page.click("button:has-text('Sign out')");
  await page.waitForURL(`${base}/funding`);
}

async function errorSummary(page) {
  const summary = page.locator(".govuk-error-summary");
  check(await summary.count() === 1, "the GOV.UK error summary is shown");
  check((await page.title()).startsWith("Error: "), "the page title starts 'Error: '");
  return summary.locator("li").allInnerTexts();
}

async function score(page, reference, points) {
  await page.goto(`${base}/rounds/${ROUND}/applications/${reference}`);
  for (const [key, value] of Object.entries(points)) {
    await page.check(`input[name="points_${key}"][value="${value}"]`);
  }
  await page.click("button:has-text('Save scores')");
  await page.waitForURL(`**/applications/${reference}?done=scored`);
}

await run(async (browser) => {
  const manager = await (await browser.newContext()).newPage();
  await signIn(manager, "walk-manager");

  // create: an empty form first, to see the server's validation and the error summary
  await manager.goto(`${base}/rounds/new`);
  await manager.fill("#weight_need", "");
  await manager.click("button:has-text('Create round')");
  const errors = await errorSummary(manager);
  check(errors.includes("Enter a title") && errors.includes("Choose the decision record file"),
    `the summary lists each problem: ${errors}`);
  check(await manager.locator("#title-error").count() === 1, "the error is beside the field");
  await shot(manager, "create-errors");
  steps.push(`create round refused: ${errors.length} problems`);
  await manager.fill("#title", "Walk-through fund 2026");
  await manager.fill("#reference", ROUND);
  await manager.fill("#fund_name", "Local violence reduction fund");
  await manager.fill("#description", "Community-led work where violence is rising.");
  await manager.check("#level-2");  // borough
  await manager.setInputFiles("#decision", decisionFile);
  await manager.fill("#budget", "100,000");
  await manager.fill("#min_award", "10000");
  await manager.fill("#max_award", "60000");
  await manager.fill("#weight_need", "30");
  await manager.click("button:has-text('Create round')");
  await manager.waitForURL(`${base}/rounds/${ROUND}?done=created`);
  check((await manager.locator("#round-stage").textContent()).trim() === "Draft",
    "the round is a draft");
  steps.push("round created");

  // open, and enter applications (one with a mistake first)
  await manager.click("button:has-text('Open for applications')");
  await manager.waitForURL(`**/rounds/${ROUND}?done=opened`);
  const applications = [
    ["Riverside Youth Trust", "1100001", "E09000003", "mentoring", "40000"],
    ["Northside Sports Club", "1100002", "E09000002", "sports-programmes", "30000"],
    ["Eastfield Families", "1100003", "E09000001", "parenting-programmes", "50000"],
  ];
  let first = true;
  for (const [name, charity, place, approach, amount] of applications) {
    await manager.goto(`${base}/rounds/${ROUND}/applications/new`);
    await manager.fill("#organisation_name", name);
    await manager.fill("#charity_number", charity);
    await manager.fill("#postcode", "SE6 4RU");
    await manager.fill("#title", `${name}: work with young people`);
    await manager.fill("#summary", "Weekly sessions for young people aged 10 to 18.");
    await manager.selectOption("#place", place);
    await manager.selectOption("#intervention", approach);
    await manager.fill("#amount_requested", first ? "a lot" : amount);
    await manager.fill("#duration_months", "12");
    await manager.click("button:has-text('Add application')");
    if (first) {
      const problems = await errorSummary(manager);
      check(problems.some((p) => p.startsWith("Amount requested")), `amount error: ${problems}`);
      check(await manager.inputValue("#organisation_name") === name, "what was typed is kept");
      await shot(manager, "application-errors");
      await manager.fill("#amount_requested", amount);
      await manager.click("button:has-text('Add application')");
      first = false;
    }
    await manager.waitForURL(`**/rounds/${ROUND}?done=application`);
  }
  check(await manager.locator("#applications tbody tr").count() === 3, "three applications");
  steps.push("three applications entered");
  await manager.click("button:has-text('Close and start assessment')");
  await manager.waitForURL(`**/rounds/${ROUND}?done=assessing`);
  await signOut(manager);

  // two assessors score; they disagree on one application
  const assessor = await (await browser.newContext()).newPage();
  await signIn(assessor, "walk-assessor-one");
  await assessor.goto(`${base}/rounds/${ROUND}/applications/A-0001`);
  await assessor.click("button:has-text('Save scores')");
  const scoreErrors = await errorSummary(assessor);
  check(scoreErrors.length === 3, `each criterion needs points: ${scoreErrors}`);
  await score(assessor, "A-0001", { community: 4, partnership: 4, delivery: 3 });
  await score(assessor, "A-0002", { community: 1, partnership: 3, delivery: 3 });
  await score(assessor, "A-0003", { community: 3, partnership: 3, delivery: 3 });
  await signOut(assessor);
  await signIn(assessor, "walk-assessor-two");
  await score(assessor, "A-0001", { community: 4, partnership: 3, delivery: 3 });
  await score(assessor, "A-0002", { community: 4, partnership: 3, delivery: 3 });
  await score(assessor, "A-0003", { community: 2, partnership: 3, delivery: 2 });
  steps.push("scored by two assessors");

  // moderation, allocation, publication
  await signIn(manager, "walk-manager");
  await manager.goto(`${base}/rounds/${ROUND}/moderation`);
  check(await manager.locator("#moderate-A-0002").count() === 1, "A-0002 needs moderation");
  const card = manager.locator("#moderate-A-0002");
  await card.locator('input[name="points_community"][value="3"]').check();
  await card.locator('input[name="points_partnership"][value="3"]').check();
  await card.locator('input[name="points_delivery"][value="3"]').check();
  await card.locator("#reason").fill("The panel read the evidence of local groups again.");
  await card.locator("button:has-text('Save moderated scores')").click();
  await manager.waitForURL(`**/moderation?done=moderated`);
  check(await manager.locator("#moderation-empty").count() === 1, "nothing left to moderate");
  steps.push("moderated");
  await manager.goto(`${base}/rounds/${ROUND}`);
  await manager.click("button:has-text('Allocate the budget')");
  await manager.waitForURL(`**/allocation?done=allocated`);
  const reasons = await manager.locator("#decisions tbody tr").allInnerTexts();
  check(reasons.length === 3, "three decisions");
  check(reasons.every((r) => /Funded|Part-funded|Not funded/.test(r)), "each has its reason");
  await shot(manager, "allocation");
  steps.push(`allocated: ${reasons.map((r) => r.split("\t").slice(0, 3).join(" ")).join("; ")}`);
  await manager.click("button:has-text('Publish the awards')");
  await manager.waitForURL(`**/funding/${ROUND}?done=published`);
  steps.push("published");

  // a visitor reads the public page and downloads the 360Giving data
  const visitor = await (await browser.newContext()).newPage();
  await visitor.goto(`${base}/funding/${ROUND}`);
  check(await visitor.locator("#criteria tbody tr").count() === 5, "criteria and weights");
  check(await visitor.locator("svg.vru-map path").count() > 0, "a map");
  const text = await visitor.locator("main").innerText();
  for (const phrase of ["How applications were judged", "How the money was shared",
                        "What was funded where", "Riverside Youth Trust"]) {
    check(text.includes(phrase), `the public page says '${phrase}'`);
  }
  for (const secret of ["walk-assessor-one", "walk-assessor-two", "walk-manager",
                        "The panel read the evidence"]) {
    check(!text.includes(secret), `no personal data on the public page (${secret})`);
  }
  await shot(visitor, "public");
  const response = await visitor.request.get(`${base}/funding/${ROUND}/360giving.json`);
  check(response.ok(), "the 360Giving JSON downloads");
  const grants = (await response.json()).grants;
  check(grants.length >= 1, "with grants in it");
  steps.push(`public page read; ${grants.length} grants downloaded`);
  return { grants: grants.map((g) => g.id) };
});
