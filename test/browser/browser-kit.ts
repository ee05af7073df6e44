/**
 * Shared setup of the browser tests: Debian's Chromium driven by playwright-core (its own browser
 * download does not work on our machines), headless, with every background connection off (the
 * network is closed; without these flags Chromium keeps trying Google's hosts), against a sandbox
 * started in-process on a fresh temporary folder.
 *
 * Without /usr/bin/chromium the tests fail in CI (CI=true: `.ci/run` installs it) and are skipped
 * locally with a loud line saying how to install it.
 *
 * Screenshots land in test/browser/screenshots/ (gitignored). README's docs/sandbox-chat.png is a copy
 * of 11-sandbox-failed-reply.png: copy it again when the Sandbox chat page changes.
 */
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { request } from 'undici'
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.js'
import type { GatewayTuning } from '../../src/gateway.js'

export const CHROMIUM = '/usr/bin/chromium'
/** Where every test run writes its screenshots (gitignored). */
export const SCREENSHOTS = new URL('./screenshots/', import.meta.url)

/** Flags the machine notes require: headless-safe as root, and no background networking. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/** Quick timings so the pipeline answers within a test's patience. */
export const BROWSER_TUNING: Partial<GatewayTuning> = {
  pollIntervalMs: 20,
  holdRecheckMs: 100,
  inDoubtWaitMs: 500,
  retryBackoff: { baseMs: 20, maxMs: 200 },
  routingTtlMs: 0,
  stopTimeoutMs: 2000,
  // One bot failure is enough to make a dead job for the "Failed work" page.
  inboundMaxAttempts: 1,
}

/**
 * Whether the browser tests can run. Without Chromium: in CI a failure (CI must install it), locally
 * a skip with a loud line.
 */
export function chromiumOrSkip(t: TestContext): boolean {
  if (existsSync(CHROMIUM)) return true
  if (process.env.CI === 'true') assert.fail(`${CHROMIUM} is missing: CI must install it (apt-get install -y chromium), see .ci/run`)
  const line = `\n!!! BROWSER TESTS SKIPPED: ${CHROMIUM} is missing. Install it with: apt-get install -y chromium !!!\n`
  process.stderr.write(line)
  t.skip(line.trim())
  return false
}

/** A sandbox and a headless Chromium, torn down together. */
export interface BrowserRig {
  sandbox: Sandbox
  browser: Browser
  context: BrowserContext
  page: Page
  /** Saves a full-page screenshot as `test/browser/screenshots/<name>.png`. */
  screenshot(name: string, page?: Page): Promise<string>
  close(): Promise<void>
}

export async function startRig(options: { viewport?: { width: number; height: number } } = {}): Promise<BrowserRig> {
  // Imported here, so a machine without the package still reports the skip rather than a crash.
  const { chromium } = await import('playwright-core')
  const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-browser-'))
  const sandbox = await startSandbox({ dataDir, port: 0, logLevel: 'silent', tuning: BROWSER_TUNING, statusDelayMs: 60 })
  let browser: Browser | undefined
  try {
    // playwright gives each launch a fresh, empty user data dir of its own.
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })
    const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 900 }, reducedMotion: 'reduce' })
    const page = await context.newPage()
    page.setDefaultTimeout(10_000)
    mkdirSync(SCREENSHOTS, { recursive: true })
    return {
      sandbox,
      browser,
      context,
      page,
      async screenshot(name, on = page) {
        const path = new URL(`${name}.png`, SCREENSHOTS).pathname
        await on.screenshot({ path, fullPage: true })
        return path
      },
      async close() {
        await browser?.close()
        await sandbox.stop()
        rmSync(dataDir, { recursive: true, force: true })
      },
    }
  } catch (error) {
    await browser?.close()
    await sandbox.stop()
    rmSync(dataDir, { recursive: true, force: true })
    throw error
  }
}

/** Signs in through the form (the way a person does when not coming from the sandbox URL). */
export async function signIn(page: Page, sandbox: Sandbox, path = '/console/'): Promise<void> {
  await page.goto(`${sandbox.gatewayUrl}${path}`)
  await page.getByLabel('API token').fill(sandbox.adminToken)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('navigation', { name: 'Console pages' }).waitFor()
}

/**
 * The admin API with the sandbox's admin token, as a test checks what the console did: the parsed
 * answer (null when empty); any status of 300 or more fails the test with the answer's text.
 */
export function adminApi(sandbox: Sandbox): (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown) => Promise<any> {
  return async (method, path, body) => {
    const response = await request(`${sandbox.gatewayUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${sandbox.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    const text = await response.body.text()
    assert.ok(response.statusCode < 300, `${method} ${path}: ${response.statusCode} ${text}`)
    return text === '' ? null : JSON.parse(text)
  }
}

/** Follows a link of the console's navigation bar and waits for the page's heading. */
export async function navTo(page: Page, name: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Console pages' }).getByRole('link', { name }).click()
  await page.getByRole('heading', { level: 1, name }).waitFor()
}

/** Half a second of a 440 Hz tone as 8 kHz 16-bit mono WAV: bytes a browser can play. */
export function toneWav(seconds = 0.5): Buffer {
  const rate = 8000
  const samples = Math.round(rate * seconds)
  const wav = Buffer.alloc(44 + samples * 2)
  wav.write('RIFF', 0, 'ascii')
  wav.writeUInt32LE(36 + samples * 2, 4)
  wav.write('WAVEfmt ', 8, 'ascii')
  wav.writeUInt32LE(16, 16)
  wav.writeUInt16LE(1, 20) // PCM
  wav.writeUInt16LE(1, 22) // mono
  wav.writeUInt32LE(rate, 24)
  wav.writeUInt32LE(rate * 2, 28)
  wav.writeUInt16LE(2, 32)
  wav.writeUInt16LE(16, 34)
  wav.write('data', 36, 'ascii')
  wav.writeUInt32LE(samples * 2, 40)
  for (let i = 0; i < samples; i++) wav.writeInt16LE(Math.round(Math.sin((2 * Math.PI * 440 * i) / rate) * 8000), 44 + i * 2)
  return wav
}

/** A one-page PDF, small and valid enough for a viewer. */
export const PDF = Buffer.from(
  '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n',
)
