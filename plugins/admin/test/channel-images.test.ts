import { fileURLToPath } from 'node:url'
import openai from '@parley/openai'
import { asAdmin, bootConsole, browserTest, DESKTOP, PHONE, signIn } from './console.js'

/*
 * The channel form's "Stored images" field (image_delivery, docs/catalog.md#image-delivery):
 * its three choices in the console's language, read from the channel and saved with it.
 */

const dialog = 'dialog[open]'
const SCREENSHOTS = fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url))

for (const lang of ['en', 'zh-CN'] as const)
  for (const [device, viewport] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const)
    browserTest(`the channel form's stored images field (${lang}, ${device})`, async t => {
      const c = await bootConsole(t, { plugins: [openai] })
      await asAdmin(c, 'POST', '/api/admin/channels', {
        provider: 'openai',
        name: 'Vision',
        base_url: 'https://1.1.1.1/v1',
        keys: ['sk-console-images-0123456789'],
        models: ['gpt-4o'],
        image_delivery: 'url',
      })
      const { page } = await signIn(t, c, '/admin/channels', { viewport, lang })
      await page.click('[data-role=channels] tr[data-row="Vision"] [data-action=edit]')
      const select = `${dialog} [data-field=image_delivery] select`
      t.equal(await page.inputValue(select), 'url', "the channel's own choice")
      t.same(
        await page.$$eval(`${select} option`, options => options.map(option => option.textContent)),
        lang === 'en'
          ? ['Auto: a URL when it is absolute, else inline', 'As a presigned URL', 'Inline, as a data: URL']
          : ['自动：链接是绝对地址时发链接，否则内联', '以预签名链接发送', '内联为 data: URL'],
      )
      await page.selectOption(select, 'inline')
      await page.locator(`${dialog} [data-field=image_delivery]`).scrollIntoViewIfNeeded()
      await page.screenshot({ path: `${SCREENSHOTS}admin-channel-images-${lang}-${device}.png` })
      await page.click(`${dialog} [data-action=save]`)
      await page.waitForSelector(dialog, { state: 'detached' })
      const [stored] = (
        (await asAdmin(c, 'GET', '/api/admin/channels')) as { items: Array<{ image_delivery: string }> }
      ).items
      t.equal(stored?.image_delivery, 'inline', 'saved with the channel')
    })
