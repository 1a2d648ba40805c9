import { readFileSync } from 'node:fs'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import t from 'tap'
import { buildWidget } from '../src/index.js'
import { widgetGateway } from './helpers.js'

/**
 * Everything the widget ever loads into a host page, gzipped: the loader, the frame page's
 * script and stylesheet with the chunks they import at once, and every chunk fetched later
 * (the Markdown renderer, when the panel first opens). The issue promises under 40 KB.
 */

const BUDGET = 40 * 1024

t.test('everything the widget loads, lazy chunks included, is under 40 KB gzipped', async t => {
  const { loader, frame } = await buildWidget()
  const gz = (dir: string, name: string) => gzipSync(readFileSync(path.join(dir, name))).length
  const loaderBytes = gz(loader.dir, 'app.js')
  const initial = [...frame.initial, 'app.css'].reduce((sum, name) => sum + gz(frame.dir, name), 0)
  const lazyChunks = Object.keys(frame.files).filter(name => !frame.initial.includes(name) && name !== 'app.css')
  const lazy = lazyChunks.reduce((sum, name) => sum + gz(frame.dir, name), 0)
  const total = loaderBytes + initial + lazy
  t.comment(`widget.js ${loaderBytes} B, frame at first ${initial} B, later ${lazy} B; in all ${total} B (gzipped)`)
  t.ok(total < BUDGET, `everything: ${total} B`)
  t.ok(loaderBytes < 4 * 1024, `widget.js is small: ${loaderBytes} B`)
  t.ok(loaderBytes + initial < 8 * 1024, `before the panel opens: ${loaderBytes + initial} B`)
  t.same(
    lazyChunks.map(name => name.endsWith('.js')),
    [true],
    'the Markdown renderer is the one chunk fetched later',
  )
  const lazySource = readFileSync(path.join(frame.dir, lazyChunks[0] as string), 'utf8')
  t.match(lazySource, /noopener noreferrer nofollow/, 'it is the renderer')
  t.notMatch(
    lazySource,
    /innerHTML|outerHTML|insertAdjacentHTML|DOMParser|createContextualFragment/,
    'it parses no HTML',
  )
  for (const name of frame.initial)
    t.notMatch(readFileSync(path.join(frame.dir, name), 'utf8'), /noopener noreferrer nofollow/, `not in ${name}`)
})

t.test('/widget.js is served to any page, with or without a cache-busting query', async t => {
  const { gateway } = await widgetGateway(t)
  for (const url of ['/widget.js', '/widget.js?v=2']) {
    const response = await gateway.inject({ method: 'GET', url })
    t.equal(response.statusCode, 200, url)
    t.match(response.headers['content-type'], /^text\/javascript/)
    t.equal(response.headers['cross-origin-resource-policy'], 'cross-origin')
    t.match(response.body, /data-client|dataset/, 'the loader')
  }
})
