/**
 * Images on /chat (chat-attach.ts) in chromium, end to end: the button, paste and drop; each
 * file goes straight to the storage URL its presign gave (storage-local here), a wrong type is
 * refused in the page's language, an image can be removed before sending; the message carries
 * `parley-object://` parts that the gateway resolves for a mock OpenAI upstream; the images
 * show in the log, and again after a reload (browser history mode) through /api/uploads/view.
 */
import { fileURLToPath } from 'node:url'
import { deflateSync } from 'node:zlib'
import type { Test } from 'tap'
import {
  createChannel,
  createTestGateway,
  startMockUpstream,
  type MockUpstream,
  type TestGateway,
} from '@parley/core/testing'
import identity from '@parley/identity'
import openai from '@parley/openai'
import portal from '@parley/portal'
import storageLocal from '@parley/storage-local'
import uploads from '@parley/uploads'
import { ADMIN_PASSWORD, browserTest, DESKTOP, ensureBundle, openPage, PHONE, ready } from './browser.js'

const SCREENSHOTS = fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url))
const user = '[data-role="message-user"]'
const answer = '[data-role="message-assistant"]'

/** A real PNG (so the page can draw it): `size`×`size`, a colour gradient. */
function png(size: number, tint: number): Buffer {
  const rows: Buffer[] = []
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 3)
    for (let x = 0; x < size; x++) row.set([(x * 255) / size, (y * 255) / size, tint], 1 + x * 3)
    rows.push(row)
  }
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
    const length = Buffer.alloc(4)
    length.writeUInt32BE(data.length)
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crc32(body))
    return Buffer.concat([length, body, crc])
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(size, 0)
  header.writeUInt32BE(size, 4)
  header.set([8, 2, 0, 0, 0], 8)
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

function crc32(bytes: Buffer): number {
  let crc = ~0
  for (const byte of bytes) {
    crc ^= byte
    for (let bit = 0; bit < 8; bit++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1))
  }
  return ~crc >>> 0
}

async function boot(t: Test): Promise<{ gateway: TestGateway; url: string; upstream: MockUpstream }> {
  await ensureBundle()
  const upstream = await startMockUpstream()
  t.teardown(upstream.close)
  const gateway = await createTestGateway({
    plugins: [identity, openai, storageLocal, uploads, portal],
    listen: true,
    config: { admin: { username: 'admin', password: ADMIN_PASSWORD } },
  })
  t.teardown(gateway.close)
  const login = await gateway.inject({
    method: 'POST',
    url: '/api/auth/admin/login',
    payload: { username: 'admin', password: ADMIN_PASSWORD },
  })
  const adminToken = (login.json() as { access_token: string }).access_token
  await createChannel(
    gateway,
    { name: 'vision', base_url: upstream.url, keys: ['sk-x'], models: ['gpt-4o'] },
    adminToken,
  )
  return { gateway, url: gateway.url ?? '', upstream }
}

async function register(gateway: TestGateway, name: string) {
  const response = await gateway.inject({
    method: 'POST',
    url: '/api/auth/register',
    payload: {
      email: `${name}@example.com`,
      username: name,
      password: 'correct horse battery',
      password_confirm: 'correct horse battery',
    },
  })
  return response.json() as {
    access_token: string
    refresh_token: string
    user: { id: number; username: string; email: string }
  }
}

const RED = png(64, 40)
const BLUE = png(48, 220)

browserTest(
  'attach by button, paste and drop; remove one; send; the upstream gets them; they show after a reload',
  async t => {
    const booted = await boot(t)
    const session = await register(booted.gateway, 'ada')
    const { page } = await openPage(t, { baseUrl: booted.url, session, expected: [/status of 400/] })
    const puts: string[] = []
    page.on('request', request => {
      if (request.method() === 'PUT') puts.push(new URL(request.url()).pathname)
    })
    await page.goto('/chat')
    await ready(page, 'chat')

    await page.setInputFiles('[data-role="attach-input"]', { name: 'red.png', mimeType: 'image/png', buffer: RED })
    await page.waitForSelector('[data-role="attachments"] li[data-state="done"]')
    await page.evaluate(bytes => {
      const transfer = new DataTransfer()
      transfer.items.add(
        new File([Uint8Array.from(atob(bytes), c => c.charCodeAt(0))], 'pasted.png', { type: 'image/png' }),
      )
      document
        .querySelector('[data-role="prompt"]')
        ?.dispatchEvent(new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true, cancelable: true }))
    }, BLUE.toString('base64'))
    await page.evaluate(bytes => {
      const transfer = new DataTransfer()
      transfer.items.add(
        new File([Uint8Array.from(atob(bytes), c => c.charCodeAt(0))], 'dropped.png', { type: 'image/png' }),
      )
      document
        .querySelector('[data-role="composer"]')
        ?.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }))
    }, RED.toString('base64'))
    await page.waitForFunction(
      () => document.querySelectorAll('[data-role="attachments"] li[data-state="done"]').length === 3,
    )
    t.equal(puts.length, 3, 'three uploads')
    t.ok(
      puts.every(path => path.startsWith(`/storage/local/${session.user.id}/b-`)),
      'each straight to its storage URL',
    )

    await page.setInputFiles('[data-role="attach-input"]', {
      name: 'notes.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('hello'),
    })
    t.match(
      await page.textContent('[data-role="attach-error"]'),
      /notes\.txt is not an image this chat takes/,
      'a wrong type, in English',
    )
    t.equal(puts.length, 3, 'and it is never uploaded')

    await page.click('[data-role="attachments"] li:nth-child(3) [data-action="remove-attachment"]')
    t.equal(await page.locator('[data-role="attachments"] li').count(), 2, 'one removed before sending')

    await page.fill('[data-role="prompt"]', 'What colours are these?')
    await page.keyboard.press('Enter')
    await page.waitForSelector(`${answer}[data-state="done"]`)
    t.ok(await page.isHidden('[data-role="attachments"]'), 'the tray is empty once sent')
    const sent = booted.upstream.requests[0]?.images ?? []
    t.same(
      sent,
      [`data:image/png;base64,${RED.toString('base64')}`, `data:image/png;base64,${BLUE.toString('base64')}`],
      'the upstream got both images (inline: storage URLs are relative here)',
    )
    const shown = `${user} [data-role="message-images"] img`
    await page.waitForFunction(
      selector => [...document.querySelectorAll<HTMLImageElement>(selector)].every(image => image.naturalWidth > 0),
      shown,
    )
    t.equal(await page.locator(shown).count(), 2, 'both images show in the question')
    await page.screenshot({ path: `${SCREENSHOTS}chat-images-desktop-en.png` })

    await page.reload()
    await ready(page, 'chat')
    await page.click('[data-role="conversations"] button')
    await page.waitForFunction(selector => {
      const images = [...document.querySelectorAll<HTMLImageElement>(selector)]
      return images.length === 2 && images.every(image => image.complete && image.naturalWidth > 0)
    }, shown)
    const sources = await page.$$eval(shown, images => images.map(image => (image as HTMLImageElement).src))
    t.ok(
      sources.every(src => /\/storage\/local\/\d+\/b-[0-9a-f]+\/images\/.+\?expires=\d+&sig=/.test(src)),
      'after a reload, from short-lived URLs',
    )
  },
)

for (const language of ['en', 'zh-CN'] as const)
  for (const [device, viewport] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const)
    browserTest(`the attachment tray (${language}, ${device})`, async t => {
      const booted = await boot(t)
      await booted.gateway.settings.set('uploads.max_file_bytes', 4096)
      const session = await register(booted.gateway, `ada${device}`)
      const { page } = await openPage(t, { baseUrl: booted.url, session, viewport, expected: [/status of 413/] })
      await page.goto(`/chat?lang=${language}`)
      await ready(page, 'chat')
      await page.setInputFiles('[data-role="attach-input"]', [
        { name: 'red.png', mimeType: 'image/png', buffer: png(24, 40) },
        { name: 'blue.png', mimeType: 'image/png', buffer: png(24, 220) },
      ])
      await page.waitForFunction(
        () => document.querySelectorAll('[data-role="attachments"] li[data-state="done"]').length === 2,
      )
      await page.setInputFiles('[data-role="attach-input"]', {
        name: 'big.png',
        mimeType: 'image/png',
        buffer: png(256, 90),
      })
      t.match(
        await page.textContent('[data-role="attach-error"]'),
        language === 'en' ? /big\.png is too large: at most 4 KB per image/ : /big\.png 太大了：每张图片最大 4 KB/,
        'the size refusal in the page language',
      )
      await page.fill('[data-role="prompt"]', language === 'en' ? 'Which is warmer?' : '哪张颜色更暖？')
      t.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no page wider')
      await page.screenshot({ path: `${SCREENSHOTS}chat-attach-${device}-${language}.png` })
    })
