import { readFileSync } from 'node:fs'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import t from 'tap'
import { buildWidget } from '../src/index.js'
import { widgetGateway } from './helpers.js'

/**
 * What a host page loads for the widget, gzipped: the loader, the frame page's script and
 * stylesheet with the chunks they import at once. The Markdown renderer is a chunk of its own,
 * fetched when the panel first opens; it is measured too.
 */

const BUDGET = 40 * 1024

t.test('the host page loads under 40 KB gzipped before the panel opens', async t => {
  const { loader, frame } = await buildWidget()
  const gz = (dir: string, name: string) => gzipSync(readFileSync(path.join(dir, name))).length
  const loaderBytes = gz(loader.dir, 'app.js')
  const initial = [...frame.initial, 'app.css'].reduce((sum, name) => sum + gz(frame.dir, name), 0)
  const lazy = Object.keys(frame.files)
    .filter(name => name.startsWith('chunk-') && !frame.initial.includes(name))
    .reduce((sum, name) => sum + gz(frame.dir, name), 0)
  t.comment(`widget.js ${loaderBytes} B, frame at first ${initial} B, Markdown renderer ${lazy} B (gzipped)`)
  t.ok(loaderBytes < 4 * 1024, `widget.js is small: ${loaderBytes} B`)
  t.ok(loaderBytes + initial < BUDGET, `before the panel opens: ${loaderBytes + initial} B`)
  t.ok(lazy > 0, 'the Markdown renderer is a chunk of its own')
  t.notMatch(readFileSync(path.join(frame.dir, 'app.js'), 'utf8'), /DOMPurify|markdown-it/i, 'not in the first script')
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
