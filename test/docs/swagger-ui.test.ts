import { existsSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { chromium, type Browser } from 'playwright-core'
import t from 'tap'
import { DOCS_TITLE } from '../../src/plugins/docs.js'
import { ADMIN_TOKEN, buildTestApp } from '../helper.js'

/**
 * /docs as a newcomer uses it, in a real browser: Debian's Chromium, headless, driven by
 * playwright-core. .ci/run installs the browser, so CI never skips this; a machine without it
 * skips (apt-get install -y chromium).
 */
const CHROMIUM = '/usr/bin/chromium'
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run'
]
const TIMEOUT = 30_000

t.test(
  '/docs shows the named examples of POST /v1/transfers, and "Try it out" sends one that is decided',
  { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing` },
  async (t) => {
    const test = await buildTestApp(t)
    await test.app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = test.app.server.address() as AddressInfo

    const browser: Browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: TIMEOUT })
    t.teardown(() => browser.close())
    const page = await browser.newPage()
    page.setDefaultTimeout(TIMEOUT)
    const pageErrors: string[] = []
    page.on('pageerror', (error) => pageErrors.push(error.message))

    // The service's address leads to the reference page.
    await page.goto(`http://127.0.0.1:${port}/`)
    t.equal(new URL(page.url()).pathname, '/docs', 'GET / leads to /docs')
    t.equal(await page.title(), DOCS_TITLE, 'the tab shows the service’s name, not "Swagger UI"')
    t.equal(await page.locator('html').getAttribute('lang'), 'en', 'the page says it is in English, which its interface is')
    const operation = page.locator('#operations-Decisions-transfer')
    await operation.locator('.opblock-summary').first().click()

    // The request body: one named example per channel and a deny; the first is a joint use, with
    // nothing of the other channels in it.
    const requestBody = operation.locator('.opblock-section-request-body')
    const requestExamples = requestBody.locator('select.examples-select-element')
    t.same(
      await requestExamples.locator('option').evaluateAll((options) => options.map((o) => (o as unknown as { value: string }).value)),
      ['joint_use', 'entrustment', 'third_party', 'statutory_exception', 'deny'],
      'the request examples are offered by name'
    )
    const shown = requestBody.locator('.body-param__example, pre.example').first()
    const jointUse = await shown.innerText()
    t.match(jointUse, /"channel": "joint_use"/, 'the joint_use example is shown first')
    t.match(jointUse, /"jointUser": "JCCU"/, 'with the joint user')
    t.notMatch(jointUse, /recipientId|contractorId|"method"|exception|serviceCategory/, 'and no field of another channel, nor a service category')

    await requestExamples.selectOption('third_party')
    await t.resolves(
      page.waitForFunction((element) => element?.textContent?.includes('"channel": "third_party"') ?? false, await shown.elementHandle()),
      'choosing third_party shows it'
    )
    const thirdParty = await shown.innerText()
    t.match(thirdParty, /"recipientId"/, 'a third-party provision names its recipient')
    t.match(thirdParty, /"method": "electronic"/, 'and the method')

    // The answers: 201 shows allowed decisions, 403 denied ones.
    const allowed = await operation.locator('tr.response[data-code="201"] pre.example').first().innerText()
    t.match(allowed, /"decision": "allow"/, 'the 201 example says allow')
    const denied = await operation.locator('tr.response[data-code="403"] pre.example').first().innerText()
    t.match(denied, /"decision": "deny"/, 'the 403 example says deny')
    t.notMatch(denied, /"decision": "allow"/, 'and never allow')
    t.notMatch(denied, /"string"/, 'with real values, not "string"')

    // Try it out: authorize, send the joint_use example, and get it decided, not a 400.
    await page.locator('.auth-wrapper .authorize').first().click()
    await page.locator('.modal-ux input').first().fill(ADMIN_TOKEN)
    await page.locator('.modal-ux .auth-btn-wrapper .authorize').first().click()
    await page.locator('.modal-ux .btn-done, .modal-ux .close-modal').first().click()
    await requestExamples.selectOption('joint_use')
    await operation.locator('.try-out__btn').click()
    await operation.locator('.execute').click()
    const status = operation.locator('.live-responses-table tr.response .response-col_status').first()
    await status.waitFor()
    t.equal((await status.innerText()).trim(), '201', 'the joint_use example is allowed and recorded (201)')
    const answer = await operation.locator('.live-responses-table tr.response .response-col_description pre').first().innerText()
    t.match(answer, /"decision": "allow"/, 'the live answer says allow')

    t.same(pageErrors, [], 'the page raised no script errors')
    await browser.close()
  }
)

t.test('/docs is titled with the service’s name, not the stock "Swagger UI" (no browser needed)', async (t) => {
  const test = await buildTestApp(t)
  const page = await test.app.inject({ method: 'GET', url: '/docs/' })
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /^text\/html/)
  t.equal(/<title>([^<]*)<\/title>/.exec(page.body)?.[1], DOCS_TITLE, 'the page’s title')
  t.notMatch(page.body, /<title>Swagger UI<\/title>/)
})
