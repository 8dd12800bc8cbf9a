// A person signing in to a tunnel with a real browser: Debian's Chromium driven by
// puppeteer-core (the system browser; nothing is downloaded).
//
//   node signin.mjs URL EMAIL SPKI_HASH
//
// Opens URL (a page of a tunnel whose rule wants an identity), expects the relay's --dev sign-in
// page, types EMAIL, submits, and expects to land back on URL with the service's page; reads the
// tunnel's cookies; signs out through /.tunnelgate/signout; opens URL again and expects the
// sign-in page. The relay's certificates are trusted by their key (SPKI_HASH, base64 SHA-256,
// Chromium's --ignore-certificate-errors-spki-list) so the origin stays a secure context.
// Prints one JSON line with what it saw.
import puppeteer from 'puppeteer-core';

const [url, email, spki] = process.argv.slice(2);
const browser = await puppeteer.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  // The --dev CA is the test's own: its certificates are accepted by their key alone.
  acceptInsecureCerts: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync', `--ignore-certificate-errors-spki-list=${spki}`],
});
const seen = {};
try {
  const page = await browser.newPage();
  await page.goto(url, { waitUntil: 'load' });
  seen.first_url = page.url();
  seen.signin_heading = await page.$eval('h1', (h) => h.textContent).catch(() => null);
  await page.type('input[name=email]', email);
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button[type=submit]')]);
  seen.after_signin_url = page.url();
  seen.after_signin_text = await page.evaluate(() => document.body.innerText);
  const cookies = await browser.cookies();
  seen.cookies = cookies.map((c) => ({ name: c.name, domain: c.domain, secure: c.secure,
                                       httpOnly: c.httpOnly, sameSite: c.sameSite, path: c.path }));
  seen.script_sees_session_cookie = await page.evaluate(() => document.cookie.includes('tg_session'));
  await page.goto(new URL('/.tunnelgate/signout', url).href, { waitUntil: 'load' });
  seen.signout_url = page.url();
  seen.signout_text = await page.evaluate(() => document.body.innerText);
  seen.cookies_after_signout = (await browser.cookies()).map((c) => c.name);
  await page.goto(url, { waitUntil: 'load' });
  seen.again_url = page.url();
} catch (error) {
  seen.error = String(error.stack ?? error);
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(seen) + '\n');
