// Drives the raddiag serve web page in Debian's headless chromium (puppeteer-core): log in with a token,
// upload a real case, wait for the result, compare the findings table with the JSON result, toggle the
// Grad-CAM overlay, move the slice slider, and save screenshots. Prints one JSON line with what it saw;
// exits non-zero (with the reason on stderr) when a check fails.
// usage: node page_test.mjs URL TOKEN FILE MODALITY SCREENSHOT_DIR [CHROMIUM]
import puppeteer from 'puppeteer-core';

const [url, token, file, modality, shots, chromium = '/usr/bin/chromium'] = process.argv.slice(2);

function check(cond, message) {
  if (!cond) throw new Error(message);
}

const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
let failed = false;
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1200, height: 1600 });
  const consoleErrors = [];
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  await page.goto(url, { waitUntil: 'load' });
  await page.screenshot({ path: shots + '/1-login.png' });
  await page.type('#token', token);
  await page.click('#login-button');
  await page.waitForSelector('#upload:not([hidden])', { timeout: 20000 });
  const input = await page.$('#files');
  await input.uploadFile(file);
  await page.select('#modality', modality);
  await page.waitForFunction(() => !document.querySelector('#submit').disabled);
  await page.click('#submit');
  await page.waitForSelector('#results:not([hidden])', { timeout: 180000 });
  await page.waitForFunction(() => document.body.dataset.ready === 'result', { timeout: 30000 });
  await page.screenshot({ path: shots + '/2-result-overlay.png', fullPage: true });

  // The table against the JSON result, fetched by the page itself with the token.
  const seen = await page.evaluate(async (tok) => {
    const job = document.querySelector('#job-id').textContent;
    const r = await fetch('/v1/jobs/' + job + '/result', { headers: tok ? { Authorization: 'Bearer ' + tok } : {} });
    const doc = await r.json();
    const rows = Array.from(document.querySelectorAll('#findings tbody tr')).map((tr) => Array.from(tr.cells).map((td) => td.textContent));
    return { job, rows, findings: doc.findings };
  }, token);
  check(seen.rows.length === seen.findings.length && seen.rows.length > 0, `table has ${seen.rows.length} rows, JSON ${seen.findings.length} findings`);
  seen.findings.forEach((f, i) => {
    const row = seen.rows[i];
    check(row[0] === String(f.rank), `row ${i} rank`);
    check(row[1] === f.disorder, `row ${i} disorder ${row[1]} != ${f.disorder}`);
    check(row[2] === f.probability.toFixed(4), `row ${i} probability ${row[2]} != ${f.probability}`);
    check(row[3] === (f.positive ? 'POSITIVE' : 'negative') + ' @ ' + f.threshold.toFixed(3), `row ${i} decision ${row[3]}`);
    check(row[4] === (f.icd10cm.length ? f.icd10cm.join(', ') : '-'), `row ${i} ICD ${row[4]}`);
  });

  // Overlay off: the plain slice; on again: the overlay.
  const srcOn = await page.$eval('img.key-slice', (img) => [img.src, img.dataset.showing]);
  await page.click('#overlay-toggle');
  const srcOff = await page.$eval('img.key-slice', (img) => [img.src, img.dataset.showing]);
  check(srcOn[1] === 'overlay' && srcOff[1] === 'plain' && srcOn[0] !== srcOff[0], 'overlay toggle did not change the image');
  await page.waitForFunction(() => document.querySelector('img.key-slice').complete);
  await page.screenshot({ path: shots + '/3-result-plain.png', fullPage: true });
  await page.click('#overlay-toggle');

  // The slice slider (a volume has several slices): move it to the last slice.
  const sliders = await page.$$('#scans input[type=range]');
  check(sliders.length > 0, 'no slice slider');
  const max = await page.$eval('#scans input[type=range]', (s) => Number(s.max));
  await page.$eval('#scans input[type=range]', (s) => { s.value = s.max; s.dispatchEvent(new Event('input')); });
  await page.waitForFunction((m) => document.querySelector('#scans .figure span').textContent.startsWith('slice ' + m), {}, max);
  await page.screenshot({ path: shots + '/4-slider.png', fullPage: true });
  check(consoleErrors.length === 0, 'page errors: ' + consoleErrors.join('; '));
  console.log(JSON.stringify({ job: seen.job, rows: seen.rows.length, slider_max: max }));
} catch (e) {
  failed = true;
  console.error('browser check failed: ' + e.message);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
