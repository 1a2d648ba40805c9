import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { Type } from '@sinclair/typebox'
import { errors } from '../errors.js'
import type { HttpScope } from '../http/server.js'
import { contentHash, IMMUTABLE, REVALIDATE } from './assets.js'

/*
 * A UI plugin's front-end bundle: TypeScript and CSS built by esbuild into `app.js` and
 * `app.css`, plus a partial linking both with their content hashes. The theme engine serves
 * only the active theme's assets, so a plugin serves its bundle itself, from memory, under its
 * own URL; `?v=<hash>` is immutable. esbuild is a devDependency, loaded only by the build.
 *
 * A bundle may also have files the page loads later: chunks split off at `import()`
 * (`chunk-<hash>.js`), stylesheets the script adds itself (`<name>-<hash>.css`) and the fonts
 * stylesheets use (`<name>-<hash>.woff2`). Their names carry their content hash, so they are
 * always served as immutable.
 */

/** The files every build writes; the partial links them with their hashes. */
export const BUNDLE_FILES = ['app.js', 'app.css'] as const
export const BUNDLE_PARTIAL = 'assets.hbs'

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.woff2': 'font/woff2',
}

/** Fonts: woff2 only (every browser the bundle targets reads it); older formats are left out. */
const FONT_LOADERS = { '.woff2': 'file', '.woff': 'empty', '.ttf': 'empty', '.eot': 'empty' } as const

export interface BundleFile {
  readonly body: Buffer
  readonly hash: string
  readonly contentType: string
}

export interface ClientBundleSource {
  /** The TypeScript entry point and the stylesheet entry point. */
  readonly script: string
  readonly stylesheet: string
  readonly tsconfig: string
  /** Where the files go (the package's `dist/client/`). */
  readonly outDir: string
  /** The URL folder the plugin serves them from, e.g. `/portal/assets`. */
  readonly url: string
  /** Modules the script loads with `import()` become chunks of their own (`chunk-<hash>.js`), fetched when first needed. */
  readonly splitting?: boolean
  /**
   * Stylesheets the script links itself when it needs them (name → entry), each built like
   * app.css into `<name>-<hash>.css`. The script finds each URL in the compile-time constant
   * `PARLEY_STYLESHEETS.<name>` (`'<url>/<name>-<hash>.css'`); names are identifiers.
   */
  readonly lazyStylesheets?: Readonly<Record<string, string>>
}

export interface BuiltBundle {
  readonly dir: string
  readonly js: { readonly bytes: number; readonly hash: string }
  readonly css: { readonly bytes: number; readonly hash: string }
  /** Every file written, by name (app.js, app.css, chunks, lazy stylesheets, fonts; not the partial). */
  readonly files: Readonly<Record<string, number>>
  /** The scripts a page loads before it runs: app.js and the chunks it imports statically. */
  readonly initial: readonly string[]
}

/** Builds a bundle (minified ES2022, no source maps shipped) and its assets partial. */
export async function buildClientBundle(source: ClientBundleSource): Promise<BuiltBundle> {
  const esbuild = await import('esbuild')
  const common = {
    bundle: true,
    minify: true,
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
    outdir: source.outDir,
    metafile: true,
  } as const
  const styles = { ...common, target: 'chrome100', loader: FONT_LOADERS, assetNames: '[name]-[hash]' } as const
  const lazyNames = Object.keys(source.lazyStylesheets ?? {})
  const [css, lazy] = await Promise.all([
    esbuild.build({ ...styles, entryPoints: { app: source.stylesheet }, entryNames: '[name]' }),
    lazyNames.length > 0
      ? esbuild.build({ ...styles, entryPoints: { ...source.lazyStylesheets }, entryNames: '[name]-[hash]' })
      : undefined,
  ])
  const stylesheets: Record<string, string> = {}
  for (const file of lazy?.outputFiles ?? []) {
    const base = path.basename(file.path)
    const name = lazyNames.find(
      candidate =>
        base.startsWith(`${candidate}-`) &&
        base.endsWith('.css') &&
        !base.slice(candidate.length + 1, -4).includes('-'),
    )
    if (name) stylesheets[name] = `${source.url}/${base}`
  }
  const js = await esbuild.build({
    ...common,
    entryPoints: { app: source.script },
    entryNames: '[name]',
    chunkNames: 'chunk-[hash]',
    splitting: source.splitting === true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    tsconfig: source.tsconfig,
    // One constant per stylesheet: an object literal here would become a module shared by every chunk.
    define: Object.fromEntries(
      Object.entries(stylesheets).map(([name, href]) => [`PARLEY_STYLESHEETS.${name}`, JSON.stringify(href)]),
    ),
  })
  const outputs = new Map<string, Buffer>()
  for (const file of [...js.outputFiles, ...css.outputFiles, ...(lazy?.outputFiles ?? [])]) {
    const body = Buffer.from(file.contents)
    // An `empty` font loader leaves `url()` behind: drop those sources from `src` lists.
    outputs.set(
      path.basename(file.path),
      file.path.endsWith('.css')
        ? Buffer.from(body.toString('utf8').replace(/,\s*url\(\)(?:\s*format\("[^"]*"\))?/g, ''))
        : body,
    )
  }
  const initial = ['app.js']
  for (const name of initial) {
    const imports =
      Object.entries(js.metafile.outputs).find(([file]) => path.basename(file) === name)?.[1].imports ?? []
    for (const item of imports)
      if (item.kind === 'import-statement' && !initial.includes(path.basename(item.path)))
        initial.push(path.basename(item.path))
  }
  const jsBody = outputs.get('app.js') ?? Buffer.alloc(0)
  const cssBody = outputs.get('app.css') ?? Buffer.alloc(0)
  const jsHash = contentHash(jsBody)
  const cssHash = contentHash(cssBody)
  const partial = [
    '{{!-- Generated by the plugin build (core buildClientBundle): the front-end bundle with its content hashes. --}}',
    `<link rel="stylesheet" href="${source.url}/app.css?v=${cssHash}">`,
    `<script type="module" src="${source.url}/app.js?v=${jsHash}"></script>`,
    // Chunks app.js imports statically: fetched alongside it instead of after it.
    ...initial.slice(1).map(name => `<link rel="modulepreload" href="${source.url}/${name}">`),
    '',
  ].join('\n')
  mkdirSync(source.outDir, { recursive: true })
  // Tests run in parallel and may build at once: replace each file whole, never half-written.
  for (const [name, body] of [...outputs, [BUNDLE_PARTIAL, Buffer.from(partial)] as const]) {
    const temporary = path.join(source.outDir, `.${name}.${process.pid}.tmp`)
    writeFileSync(temporary, body)
    renameSync(temporary, path.join(source.outDir, name))
  }
  // Chunks and fonts of earlier builds would be served for ever: remove what this build did not write.
  for (const name of readdirSync(source.outDir)) {
    if (!name.startsWith('.') && name !== BUNDLE_PARTIAL && !outputs.has(name))
      rmSync(path.join(source.outDir, name), { force: true, recursive: true })
  }
  return {
    dir: source.outDir,
    js: { bytes: jsBody.length, hash: jsHash },
    css: { bytes: cssBody.length, hash: cssHash },
    files: Object.fromEntries([...outputs].map(([name, body]) => [name, body.length])),
    initial,
  }
}

/** Reads a built bundle; a missing file is a start-up error that says how to build it. */
export function readClientBundle(dir: string, plugin: string): ReadonlyMap<string, BundleFile> {
  for (const name of [...BUNDLE_FILES, BUNDLE_PARTIAL]) {
    if (!existsSync(path.join(dir, name))) throw errors.PARLEY_ERR_UI_BUNDLE_MISSING({ plugin, dir })
  }
  const files = new Map<string, BundleFile>()
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isFile() || entry.name.startsWith('.') || entry.name === BUNDLE_PARTIAL) continue
    const body = readFileSync(path.join(dir, entry.name))
    files.set(
      entry.name,
      Object.freeze({
        body,
        hash: contentHash(body),
        contentType: CONTENT_TYPES[path.extname(entry.name)] ?? 'application/octet-stream',
      }),
    )
  }
  return files
}

/** `GET <url>/<file>`: app.js and app.css immutable with the current `?v=` (revalidated without); other files always immutable. */
export function serveClientBundle(http: HttpScope, url: string, bundle: ReadonlyMap<string, BundleFile>): void {
  http.get(
    `${url}/:file`,
    { schema: { hide: true, params: Type.Object({ file: Type.String() }) } },
    async (request, reply) => {
      const file = bundle.get(request.params.file)
      if (!file) throw errors.PARLEY_ERR_HTTP_NOT_FOUND({ method: 'GET', path: request.url.split('?')[0] })
      const etag = `"${file.hash}"`
      const versioned =
        !(BUNDLE_FILES as readonly string[]).includes(request.params.file) ||
        (request.query as { v?: unknown }).v === file.hash
      void reply
        .header('content-type', file.contentType)
        .header('cache-control', versioned ? IMMUTABLE : REVALIDATE)
        .header('etag', etag)
        .header('x-content-type-options', 'nosniff')
      if (request.headers['if-none-match'] === etag) return reply.code(304).send()
      return reply.send(file.body)
    },
  )
}
