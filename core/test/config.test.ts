/**
 * Configuration: file, environment and overrides merged (later wins), validated once, frozen;
 * secrets resolved from config or generated into the data directory outside production.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { Writable } from 'node:stream'
import t, { type Test } from 'tap'
import { loadConfig, ParleyError, type Config } from '@parley/core'
import { ENV_BINDINGS } from '../src/config/env.js'
import { resolveSecrets } from '../src/config/secrets.js'
import { createLogger } from '../src/log.js'
import type { Logger } from '../src/logger.js'

/** The variables docs/configuration.md lists first; ENV_BINDINGS must cover exactly these. */
const DOCUMENTED_VARIABLES = [
  'APP_PORT',
  'DATA_DIR',
  'ADMIN_USERNAME',
  'ADMIN_PASSWORD',
  'SECRET_KEY',
  'ENCRYPTION_KEY',
  'DATABASE_PATH',
  'DATABASE_URL',
  'REDIS_URL',
  'LOG_RETENTION_DAYS',
  'GUEST_RPM',
  'USER_RPM',
  'CORS_ORIGINS',
  'TRUST_PROXY',
  'SITE_BASE_URL',
  'NODE_ENV',
  'LOG_LEVEL',
]

/** Variables added since, for operators' needs the first list did not cover. */
const EXTRA_VARIABLES = ['ENCRYPTION_KEY_PREVIOUS', 'REDIS_PREFIX', 'UPSTREAM_ALLOW_LOOPBACK']

const HEX_KEY = 'ab'.repeat(32)
const BASE64_KEY = Buffer.alloc(32, 0x5c).toString('base64')

/**
 * One valid, non-default value per variable and what the loaded config must hold for it
 * (paths resolve against `cwd`). A binding without a sample fails the coverage check below.
 */
const SAMPLES: Record<string, { raw: string; expected: (cwd: string) => unknown }> = {
  APP_PORT: { raw: ' 9123 ', expected: () => 9123 },
  DATA_DIR: { raw: 'var/parley', expected: cwd => path.join(cwd, 'var/parley') },
  ADMIN_USERNAME: { raw: 'root-admin', expected: () => 'root-admin' },
  ADMIN_PASSWORD: { raw: 'correct horse battery', expected: () => 'correct horse battery' },
  SECRET_KEY: { raw: 'k'.repeat(40), expected: () => 'k'.repeat(40) },
  ENCRYPTION_KEY: { raw: HEX_KEY, expected: () => HEX_KEY },
  ENCRYPTION_KEY_PREVIOUS: { raw: ` ${'cd'.repeat(32)} ,${BASE64_KEY}`, expected: () => ['cd'.repeat(32), BASE64_KEY] },
  DATABASE_PATH: { raw: 'db/main.sqlite', expected: cwd => path.join(cwd, 'db/main.sqlite') },
  DATABASE_URL: {
    raw: 'mysql://parley:pw@db.internal:3306/parley',
    expected: () => 'mysql://parley:pw@db.internal:3306/parley',
  },
  REDIS_URL: { raw: 'redis://cache.internal:6379/2', expected: () => 'redis://cache.internal:6379/2' },
  REDIS_PREFIX: { raw: 'tenant-a:', expected: () => 'tenant-a:' },
  LOG_RETENTION_DAYS: { raw: '30', expected: () => 30 },
  GUEST_RPM: { raw: '5', expected: () => 5 },
  USER_RPM: { raw: '120', expected: () => 120 },
  CORS_ORIGINS: {
    raw: 'https://a.example, https://b.example',
    expected: () => ['https://a.example', 'https://b.example'],
  },
  TRUST_PROXY: { raw: '10.0.0.0/8, 127.0.0.1', expected: () => ['10.0.0.0/8', '127.0.0.1'] },
  SITE_BASE_URL: { raw: 'https://chat.example.com', expected: () => 'https://chat.example.com' },
  NODE_ENV: { raw: 'production', expected: () => 'production' },
  LOG_LEVEL: { raw: 'debug', expected: () => 'debug' },
  UPSTREAM_ALLOW_LOOPBACK: { raw: ' 1 ', expected: () => true },
}

function valueAt(config: unknown, key: string): unknown {
  return key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], config)
}

/** Runs `load`, which must throw a ParleyError with `code`; returns it for closer checks. */
function refusal(t: Test, load: () => unknown, code: string): ParleyError {
  try {
    load()
  } catch (error) {
    t.type(error, ParleyError)
    t.equal((error as ParleyError).code, code)
    return error as ParleyError
  }
  t.fail(`expected ${code}, but nothing was thrown`)
  return new ParleyError('none', 0, 'none', '')
}

/** A logger whose lines are collected as text, to check what secrets handling logs. */
function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = []
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk))
      done()
    },
  })
  return { logger: createLogger({ log: { level: 'debug' } }, stream), lines }
}

t.test('loadConfig', async t => {
  t.test('no file and no environment: schema defaults, paths under cwd', async t => {
    const cwd = t.testdir({})
    const config = loadConfig({ env: {}, cwd })
    t.equal(config.file, undefined)
    t.equal(config.env, 'development')
    t.equal(config.server.port, 8000)
    t.equal(config.server.host, '0.0.0.0')
    t.equal(config.server.body_limit, 10 * 1024 * 1024)
    t.equal(config.server.trust_proxy, false)
    t.same(config.server.cors_origins, ['*'])
    t.equal(config.log.level, 'info')
    t.equal(config.data_dir, path.join(cwd, 'data'))
    t.equal(config.database.path, path.join(cwd, 'data', 'parley.db'))
    t.equal(config.database.url, undefined)
    t.same(config.settings, {
      guest_rpm: 10,
      user_rpm: 60,
      log_retention_days: 90,
      allow_registration: true,
      allow_guest: false,
      chat_history_mode: 'browser',
      site_name: 'Parley',
      site_base_url: '',
      default_group: 'default',
      model_passthrough: false,
      allow_private_upstreams: false,
      time_zone: 'UTC',
      key_auto_disable_after: 3,
    })
    t.same(config.plugins, [])
    t.same(config.sources, {})
  })

  t.test('reads the YAML file given as `file`, relative to cwd', async t => {
    const cwd = t.testdir({
      'parley.yaml': [
        'server:',
        '  port: 7001',
        '  trust_proxy: [10.0.0.0/8]',
        'log:',
        '  level: warn',
        'theme: midnight',
        'settings:',
        '  site_name: Team Chat',
        'plugins:',
        '  - ./plugins/one.js',
        '  - use: "@acme/two"',
        '    options: { region: eu }',
        '',
      ].join('\n'),
    })
    const config = loadConfig({ file: 'parley.yaml', env: {}, cwd })
    t.equal(config.file, path.join(cwd, 'parley.yaml'))
    t.equal(config.server.port, 7001)
    t.same(config.server.trust_proxy, ['10.0.0.0/8'])
    t.equal(config.log.level, 'warn')
    t.equal(config.theme, 'midnight')
    t.equal(config.settings.site_name, 'Team Chat')
    t.equal(config.settings.guest_rpm, 10, 'keys the file leaves out keep their defaults')
    t.same(config.plugins, ['./plugins/one.js', { use: '@acme/two', options: { region: 'eu' } }])
    t.equal(config.sources['server.port'], 'parley.yaml')
  })

  t.test('config/default.yaml in cwd is read when nothing else is named; file: false skips it', async t => {
    const cwd = t.testdir({ config: { 'default.yaml': 'server:\n  port: 7002\n' } })
    t.equal(loadConfig({ env: {}, cwd }).server.port, 7002)
    t.equal(loadConfig({ file: false, env: {}, cwd }).server.port, 8000)
  })

  t.test('an empty file means all defaults', async t => {
    const cwd = t.testdir({ 'empty.yaml': '# nothing here yet\n' })
    t.equal(loadConfig({ file: 'empty.yaml', env: {}, cwd }).server.port, 8000)
  })

  t.test('PARLEY_CONFIG selects the file (over config/default.yaml)', async t => {
    const cwd = t.testdir({
      config: { 'default.yaml': 'server:\n  port: 7002\n' },
      deploy: { 'prod.yaml': 'server:\n  port: 7003\n' },
    })
    const config = loadConfig({ env: { PARLEY_CONFIG: 'deploy/prod.yaml' }, cwd })
    t.equal(config.file, path.join(cwd, 'deploy', 'prod.yaml'))
    t.equal(config.server.port, 7003)
  })

  t.test('ENV_BINDINGS covers exactly the documented variables, and every one has a sample here', async t => {
    const bound = ENV_BINDINGS.map(binding => binding.variable).sort()
    t.same(bound, [...DOCUMENTED_VARIABLES, ...EXTRA_VARIABLES].sort())
    t.same(Object.keys(SAMPLES).sort(), bound)
  })

  for (const binding of ENV_BINDINGS) {
    t.test(`${binding.variable} sets ${binding.key}`, async t => {
      const sample = SAMPLES[binding.variable]
      if (!sample) return t.fail(`no sample value for ${binding.variable}`)
      const cwd = t.testdir({})
      const config = loadConfig({ file: false, env: { [binding.variable]: sample.raw }, cwd })
      t.same(valueAt(config, binding.key), sample.expected(cwd))
      t.equal(config.sources[binding.key], `environment variable ${binding.variable}`)
    })
  }

  t.test('all variables at once load into one valid config', async t => {
    const cwd = t.testdir({})
    const env = Object.fromEntries(Object.entries(SAMPLES).map(([variable, sample]) => [variable, sample.raw]))
    const config = loadConfig({ file: false, env, cwd })
    for (const binding of ENV_BINDINGS)
      t.same(valueAt(config, binding.key), SAMPLES[binding.variable]?.expected(cwd), binding.variable)
  })

  t.test('UPSTREAM_ALLOW_LOOPBACK reads the usual words for yes and no, and refuses anything else', async t => {
    const cwd = t.testdir({})
    const loopback = (raw: string) =>
      loadConfig({ file: false, env: { UPSTREAM_ALLOW_LOOPBACK: raw }, cwd }).upstream.allow_loopback
    t.equal(loadConfig({ file: false, env: {}, cwd }).upstream.allow_loopback, false, 'off by default')
    for (const raw of ['1', 'true', 'TRUE', 'yes', 'on']) t.equal(loopback(raw), true, raw)
    for (const raw of ['0', 'false', 'No', 'off']) t.equal(loopback(raw), false, raw)
    const error = refusal(t, () => loopback('maybe'), 'PARLEY_ERR_CONFIG_INVALID')
    t.match(error.message, 'upstream.allow_loopback')
    t.match(error.message, '"maybe"')
    t.match(error.message, 'environment variable UPSTREAM_ALLOW_LOOPBACK')
    const fromFile = loadConfig({
      file: 'parley.yaml',
      env: {},
      cwd: t.testdir({ 'parley.yaml': 'upstream:\n  allow_loopback: true\n' }),
    })
    t.equal(fromFile.upstream.allow_loopback, true, 'the config file key')
    t.equal(fromFile.sources['upstream.allow_loopback'], 'parley.yaml')
  })

  t.test('an empty variable counts as unset', async t => {
    t.equal(loadConfig({ file: false, env: { APP_PORT: '' }, cwd: t.testdir({}) }).server.port, 8000)
  })

  t.test('environment beats the file, overrides beat the environment', async t => {
    const cwd = t.testdir({ 'parley.yaml': 'server:\n  port: 7000\nlog:\n  level: warn\nsettings:\n  guest_rpm: 3\n' })
    const config = loadConfig({
      file: 'parley.yaml',
      env: { APP_PORT: '7100', GUEST_RPM: '4' },
      overrides: { settings: { guest_rpm: 5 } },
      cwd,
    })
    t.equal(config.server.port, 7100)
    t.equal(config.log.level, 'warn', 'what the environment does not set stays from the file')
    t.equal(config.settings.guest_rpm, 5)
    t.equal(config.sources['server.port'], 'environment variable APP_PORT')
    t.equal(config.sources['log.level'], 'parley.yaml')
    t.equal(config.sources['settings.guest_rpm'], 'overrides')
  })

  t.test('a bad value names key, value, where it came from and what was expected', async t => {
    const cwd = t.testdir({ 'parley.yaml': 'server:\n  port: eighty\n' })
    const cases: Array<{ name: string; load: () => Config; parts: string[] }> = [
      {
        name: 'APP_PORT not a number',
        load: () => loadConfig({ file: false, env: { APP_PORT: 'abc' }, cwd }),
        parts: ['server.port', '"abc"', 'environment variable APP_PORT', 'an integer from 0 to 65535'],
      },
      {
        name: 'APP_PORT out of range',
        load: () => loadConfig({ file: false, env: { APP_PORT: '70000' }, cwd }),
        parts: ['server.port', '70000', 'environment variable APP_PORT', 'an integer from 0 to 65535'],
      },
      {
        name: 'GUEST_RPM negative',
        load: () => loadConfig({ file: false, env: { GUEST_RPM: '-1' }, cwd }),
        parts: ['settings.guest_rpm', '-1', 'environment variable GUEST_RPM', 'an integer from 0 to 1000000'],
      },
      {
        name: 'LOG_LEVEL unknown',
        load: () => loadConfig({ file: false, env: { LOG_LEVEL: 'loud' }, cwd }),
        parts: ['log.level', '"loud"', 'environment variable LOG_LEVEL', 'one of "fatal", "error", "warn", "info"'],
      },
      {
        name: 'NODE_ENV unknown',
        load: () => loadConfig({ file: false, env: { NODE_ENV: 'staging' }, cwd }),
        parts: ['env = "staging"', 'environment variable NODE_ENV', '"development", "production", "test"'],
      },
      {
        name: 'REDIS_URL of another scheme',
        load: () => loadConfig({ file: false, env: { REDIS_URL: 'http://cache:6379' }, cwd }),
        parts: ['redis.url', '"http://cache:6379"', 'environment variable REDIS_URL', 'matching ^rediss?://'],
      },
      {
        name: 'a value from the file',
        load: () => loadConfig({ file: 'parley.yaml', env: {}, cwd }),
        parts: ['server.port', '"eighty"', 'parley.yaml', 'an integer from 0 to 65535'],
      },
    ]
    for (const { name, load, parts } of cases) {
      const error = refusal(t, load, 'PARLEY_ERR_CONFIG_INVALID')
      for (const part of parts) t.match(error.message, part, `${name}: names ${part}`)
    }
  })

  t.test('unknown keys are refused, at any depth', async t => {
    const cwd = t.testdir({ 'parley.yaml': 'colour: blue\nserver:\n  prot: 8080\n' })
    const fromFile = refusal(t, () => loadConfig({ file: 'parley.yaml', env: {}, cwd }), 'PARLEY_ERR_CONFIG_INVALID')
    t.match(fromFile.message, /colour = "blue" \(from parley\.yaml\): expected no such key/)
    t.match(fromFile.message, /server\.prot = 8080 \(from parley\.yaml\): expected no such key/)
    const fromOverrides = refusal(
      t,
      () => loadConfig({ file: false, env: {}, cwd, overrides: { settings: { guest_rmp: 5 } } }),
      'PARLEY_ERR_CONFIG_INVALID',
    )
    t.match(fromOverrides.message, /settings\.guest_rmp = 5 \(from overrides\): expected no such key/)
    const mapping = refusal(
      t,
      () => loadConfig({ file: false, env: {}, cwd, overrides: { servr: { port: 1 } } }),
      'PARLEY_ERR_CONFIG_INVALID',
    )
    t.match(mapping.message, /servr = \{"port":1\} \(from overrides\): expected no such key/)
  })

  t.test('TRUST_PROXY: off, a list of addresses and CIDRs, or refused entry by entry', async t => {
    const cwd = t.testdir({})
    const load = (value: string) => loadConfig({ file: false, env: { TRUST_PROXY: value }, cwd })
    for (const off of ['off', 'OFF', 'false', 'no', '0']) t.equal(load(off).server.trust_proxy, false, off)
    t.equal(loadConfig({ file: false, env: {}, cwd }).server.trust_proxy, false, 'off by default')
    t.same(load('10.0.0.0/8, 192.168.1.7,::1, fd00::/8,loopback').server.trust_proxy, [
      '10.0.0.0/8',
      '192.168.1.7',
      '::1',
      'fd00::/8',
      'loopback',
    ])
    for (const [value, bad] of [
      ['10.0.0.0/8, proxy.internal', 'proxy.internal'],
      ['127.0.0.1, 10.0.0.0/33', '10.0.0.0/33'],
      ['300.1.1.1', '300.1.1.1'],
      ['10.0.0.0/8/1', '10.0.0.0/8/1'],
      ['10.0.0.0/x', '10.0.0.0/x'],
    ] as const) {
      const error = refusal(t, () => load(value), 'PARLEY_ERR_CONFIG_INVALID')
      t.match(
        error.message,
        `"${bad}" (from environment variable TRUST_PROXY): expected an IP address, a CIDR range`,
        value,
      )
      t.match(error.message, /server\.trust_proxy\.\d/, `${value}: names the entry`)
    }
  })

  t.test('secrets never appear in error messages', async t => {
    const cwd = t.testdir({
      'parley.yaml': [
        'secrets:',
        '  secret_key: 1234567890123',
        'plugins:',
        '  - use: "@acme/provider"',
        '    options: { api_key: sk-live-PLUGINKEY }',
        '    extra: true',
        '',
      ].join('\n'),
    })
    const cases: Array<{ name: string; load: () => Config; secret: string; key: string }> = [
      {
        name: 'too-short SECRET_KEY',
        load: () => loadConfig({ file: false, env: { SECRET_KEY: 'short-but-SECRET-1' }, cwd }),
        secret: 'short-but-SECRET-1',
        key: 'secrets.secret_key',
      },
      {
        name: 'too-short ENCRYPTION_KEY',
        load: () => loadConfig({ file: false, env: { ENCRYPTION_KEY: 'deadbeefSECRET2' }, cwd }),
        secret: 'deadbeefSECRET2',
        key: 'secrets.encryption_key',
      },
      {
        name: 'too-short ADMIN_PASSWORD',
        load: () => loadConfig({ file: false, env: { ADMIN_PASSWORD: 'pw-S3' }, cwd }),
        secret: 'pw-S3',
        key: 'admin.password',
      },
      {
        name: 'metrics token',
        load: () =>
          loadConfig({ file: false, env: {}, cwd, overrides: { server: { metrics: { token: 'tok-SECRET-4' } } } }),
        secret: 'tok-SECRET-4',
        key: 'server.metrics.token',
      },
      {
        name: 'a password inside a DATABASE_URL of the wrong scheme',
        load: () =>
          loadConfig({ file: false, env: { DATABASE_URL: 'postgres://parley:hunter2-SECRET-5@db/parley' }, cwd }),
        secret: 'hunter2-SECRET-5',
        key: 'database.url',
      },
      {
        name: 'a secret given as a number',
        load: () => loadConfig({ file: 'parley.yaml', env: {}, cwd }),
        secret: '1234567890123',
        key: 'secrets.secret_key',
      },
      {
        name: 'a plugin api_key inside an entry that is refused as a whole',
        load: () => loadConfig({ file: 'parley.yaml', env: {}, cwd }),
        secret: 'sk-live-PLUGINKEY',
        key: 'plugins.0',
      },
    ]
    for (const { name, load, secret, key } of cases) {
      const error = refusal(t, load, 'PARLEY_ERR_CONFIG_INVALID')
      t.match(error.message, key, `${name}: the key is named`)
      t.notMatch(error.message, secret, `${name}: the value is not printed`)
    }
    const short = refusal(
      t,
      () => loadConfig({ file: false, env: { SECRET_KEY: 'short-but-SECRET-1' }, cwd }),
      'PARLEY_ERR_CONFIG_INVALID',
    )
    t.match(short.message, '(18 characters, hidden)', 'says how long the hidden value is')
  })

  t.test('the result is frozen all the way down', async t => {
    const cwd = t.testdir({
      'parley.yaml': 'plugins:\n  - use: "@acme/two"\n    options: { region: eu, tags: [a, b] }\n',
    })
    const config = loadConfig({ file: 'parley.yaml', env: { TRUST_PROXY: '10.0.0.0/8' }, cwd })
    const unfrozen: string[] = []
    const walk = (value: unknown, where: string) => {
      if (typeof value !== 'object' || value === null) return
      if (!Object.isFrozen(value)) unfrozen.push(where)
      for (const [key, inner] of Object.entries(value)) walk(inner, `${where}.${key}`)
    }
    walk(config, 'config')
    t.same(unfrozen, [])
    t.ok(Object.isFrozen(valueAt(config, 'plugins.0.options.tags')), 'checked deep inside plugin options too')
    t.throws(() => {
      ;(config.server as { port: number }).port = 1
    }, TypeError)
    t.throws(() => {
      ;(config.server.trust_proxy as string[]).push('0.0.0.0/0')
    }, TypeError)
    t.throws(() => {
      ;(config.sources as Record<string, string>)['server.port'] = 'forged'
    }, TypeError)
  })

  t.test('an unreadable or malformed file is PARLEY_ERR_CONFIG_FILE naming the file', async t => {
    const cwd = t.testdir({
      'broken.yaml': 'server:\n  port: [8000\n',
      'list.yaml': '- a\n- b\n',
    })
    const broken = refusal(t, () => loadConfig({ file: 'broken.yaml', env: {}, cwd }), 'PARLEY_ERR_CONFIG_FILE')
    t.match(broken.message, path.join(cwd, 'broken.yaml'))
    const list = refusal(t, () => loadConfig({ file: 'list.yaml', env: {}, cwd }), 'PARLEY_ERR_CONFIG_FILE')
    t.match(list.message, 'the top level must be a mapping')
    const missing = refusal(
      t,
      () => loadConfig({ env: { PARLEY_CONFIG: 'nope/missing.yaml' }, cwd }),
      'PARLEY_ERR_CONFIG_FILE',
    )
    t.match(missing.message, path.join(cwd, 'nope', 'missing.yaml'))
    t.match(missing.message, 'ENOENT')
    refusal(t, () => loadConfig({ file: 'also-missing.yaml', env: {}, cwd }), 'PARLEY_ERR_CONFIG_FILE')
  })
})

t.test('settings.time_zone must be a zone Node knows', async t => {
  const load = (zone: string) =>
    loadConfig({ file: false, env: {}, cwd: t.testdir(), overrides: { settings: { time_zone: zone } } })
  t.equal(load('Asia/Shanghai').settings.time_zone, 'Asia/Shanghai')
  t.throws(() => load('Mars/Olympus_Mons'), {
    code: 'PARLEY_ERR_CONFIG_INVALID',
    message: /settings\.time_zone = "Mars\/Olympus_Mons" \(from overrides\): expected an IANA time zone/,
  })
})

t.test('resolveSecrets', async t => {
  const load = (t: Test, env: Record<string, string> = {}) => loadConfig({ file: false, env, cwd: t.testdir({}) })

  t.test('development without secrets: generated into <data_dir>/secrets.json (0600), reused next time', async t => {
    const config = load(t)
    const file = path.join(config.data_dir, 'secrets.json')
    t.notOk(existsSync(file))
    const { logger, lines } = captureLogger()

    const first = resolveSecrets(config, logger)
    t.ok(existsSync(file))
    t.equal(statSync(file).mode & 0o777, 0o600)
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { secret_key: string; encryption_key: string }
    t.match(stored.secret_key, /^[0-9a-f]{64}$/)
    t.match(stored.encryption_key, /^[0-9a-f]{64}$/)
    t.equal(first.secretKey, stored.secret_key)
    t.same(first.encryptionKey, Buffer.from(stored.encryption_key, 'hex'))
    t.equal(first.encryptionKey.length, 32)
    t.ok(Object.isFrozen(first))

    t.equal(lines.length, 1, 'one warning says secrets were generated')
    t.match(lines[0], '"generated":["SECRET_KEY","ENCRYPTION_KEY"]')
    t.notMatch(lines.join(''), stored.secret_key, 'the log names the secrets, never their values')
    t.notMatch(lines.join(''), stored.encryption_key)

    const before = readFileSync(file, 'utf8')
    const second = resolveSecrets(config, logger)
    t.equal(second.secretKey, first.secretKey)
    t.same(second.encryptionKey, first.encryptionKey)
    t.equal(readFileSync(file, 'utf8'), before, 'the file is not rewritten')
    t.equal(lines.length, 1, 'nothing generated, nothing logged')
  })

  t.test('a configured secret wins; the stored one fills only what is missing', async t => {
    const config = load(t, { SECRET_KEY: 's'.repeat(40) })
    const file = path.join(config.data_dir, 'secrets.json')
    mkdirSync(config.data_dir, { recursive: true })
    writeFileSync(file, JSON.stringify({ secret_key: 'x'.repeat(64), encryption_key: HEX_KEY }))
    const secrets = resolveSecrets(config, captureLogger().logger)
    t.equal(secrets.secretKey, 's'.repeat(40))
    t.same(secrets.encryptionKey, Buffer.from(HEX_KEY, 'hex'))
  })

  t.test('a half-filled secrets file keeps what it has, gains the rest, and is tightened to 0600', async t => {
    const config = load(t)
    const file = path.join(config.data_dir, 'secrets.json')
    mkdirSync(config.data_dir, { recursive: true })
    writeFileSync(file, JSON.stringify({ encryption_key: HEX_KEY }))
    chmodSync(file, 0o644)
    const secrets = resolveSecrets(config, captureLogger().logger)
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { secret_key: string; encryption_key: string }
    t.equal(stored.encryption_key, HEX_KEY, 'the stored key is kept: data encrypted with it stays readable')
    t.match(stored.secret_key, /^[0-9a-f]{64}$/)
    t.equal(secrets.secretKey, stored.secret_key)
    t.same(secrets.encryptionKey, Buffer.from(HEX_KEY, 'hex'))
    t.equal(statSync(file).mode & 0o777, 0o600)
  })

  t.test('configured secrets are used as given; nothing is written', async t => {
    const base64Key = Buffer.alloc(32, 7).toString('base64')
    const config = load(t, { SECRET_KEY: 'k'.repeat(40), ENCRYPTION_KEY: base64Key })
    const secrets = resolveSecrets(config, captureLogger().logger)
    t.equal(secrets.secretKey, 'k'.repeat(40))
    t.same(secrets.encryptionKey, Buffer.alloc(32, 7), 'base64 of 32 bytes is accepted')
    t.notOk(existsSync(path.join(config.data_dir, 'secrets.json')))
  })

  t.test('production refuses to start without SECRET_KEY and ENCRYPTION_KEY', async t => {
    const neither = load(t, { NODE_ENV: 'production' })
    const error = refusal(t, () => resolveSecrets(neither, captureLogger().logger), 'PARLEY_ERR_CONFIG_SECRETS')
    t.match(error.message, 'SECRET_KEY')
    t.match(error.message, 'ENCRYPTION_KEY')
    t.notOk(existsSync(path.join(neither.data_dir, 'secrets.json')), 'no file is generated in production')

    const onlySecret = load(t, { NODE_ENV: 'production', SECRET_KEY: 'k'.repeat(40) })
    const missingOne = refusal(t, () => resolveSecrets(onlySecret, captureLogger().logger), 'PARLEY_ERR_CONFIG_SECRETS')
    t.match(missingOne.message, 'ENCRYPTION_KEY (secrets.encryption_key)')
    t.notMatch(missingOne.message, 'SECRET_KEY (secrets.secret_key)')

    const both = load(t, { NODE_ENV: 'production', SECRET_KEY: 'k'.repeat(40), ENCRYPTION_KEY: HEX_KEY })
    t.equal(resolveSecrets(both, captureLogger().logger).encryptionKey.length, 32)
  })

  t.test('an ENCRYPTION_KEY that is not 32 bytes is refused without printing it', async t => {
    for (const [name, key] of [
      ['40 hex characters', 'cd'.repeat(20)],
      ['base64 of 48 bytes', Buffer.alloc(48, 0xfe).toString('base64')],
    ] as const) {
      const config = load(t, { SECRET_KEY: 'k'.repeat(40), ENCRYPTION_KEY: key })
      const error = refusal(t, () => resolveSecrets(config, captureLogger().logger), 'PARLEY_ERR_CONFIG_SECRETS')
      t.match(error.message, 'must be 32 bytes', name)
      t.notMatch(error.message, key, `${name}: not printed`)
    }
  })

  t.test('ENCRYPTION_KEY_PREVIOUS: comma-separated keys, hex or base64, in order; none by default', async t => {
    const none = resolveSecrets(
      load(t, { SECRET_KEY: 'k'.repeat(40), ENCRYPTION_KEY: HEX_KEY }),
      captureLogger().logger,
    )
    t.same(none.previousEncryptionKeys, [])

    const config = load(t, {
      SECRET_KEY: 'k'.repeat(40),
      ENCRYPTION_KEY: HEX_KEY,
      ENCRYPTION_KEY_PREVIOUS: `${'cd'.repeat(32)}, ${BASE64_KEY}`,
    })
    t.same(config.secrets.previous_encryption_keys, ['cd'.repeat(32), BASE64_KEY])
    t.equal(config.sources['secrets.previous_encryption_keys'], 'environment variable ENCRYPTION_KEY_PREVIOUS')
    const secrets = resolveSecrets(config, captureLogger().logger)
    t.same(secrets.previousEncryptionKeys, [Buffer.from('cd'.repeat(32), 'hex'), Buffer.alloc(32, 0x5c)])
    t.ok(Object.isFrozen(secrets.previousEncryptionKeys))
    t.same(secrets.encryptionKey, Buffer.from(HEX_KEY, 'hex'), 'the current key is unchanged')
  })

  t.test('previous keys from the file, next to a generated current key', async t => {
    const cwd = t.testdir({ 'parley.yaml': `secrets:\n  previous_encryption_keys:\n    - "${BASE64_KEY}"\n` })
    const config = loadConfig({ file: 'parley.yaml', env: {}, cwd })
    const { logger, lines } = captureLogger()
    const secrets = resolveSecrets(config, logger)
    t.same(secrets.previousEncryptionKeys, [Buffer.alloc(32, 0x5c)])
    t.match(lines[0], '"generated":["SECRET_KEY","ENCRYPTION_KEY"]', 'generation is unchanged')
    t.notMatch(lines.join(''), BASE64_KEY)
  })

  t.test('a bad ENCRYPTION_KEY_PREVIOUS entry is named by variable and position, never printed', async t => {
    const bad = 'ef'.repeat(20)
    const config = load(t, {
      SECRET_KEY: 'k'.repeat(40),
      ENCRYPTION_KEY: HEX_KEY,
      ENCRYPTION_KEY_PREVIOUS: `${BASE64_KEY},${bad}`,
    })
    const error = refusal(t, () => resolveSecrets(config, captureLogger().logger), 'PARLEY_ERR_CONFIG_SECRETS')
    t.match(error.message, 'ENCRYPTION_KEY_PREVIOUS (secrets.previous_encryption_keys), entry 2 of 2, must be 32 bytes')
    t.notMatch(error.message, bad)
    t.notMatch(error.message, BASE64_KEY)
    t.notMatch(error.message, HEX_KEY)

    const short = 'SHORT-previous-SECRET'
    const invalid = refusal(
      t,
      () => load(t, { ENCRYPTION_KEY_PREVIOUS: `${BASE64_KEY},${short}` }),
      'PARLEY_ERR_CONFIG_INVALID',
    )
    t.match(invalid.message, 'secrets.previous_encryption_keys.1')
    t.match(invalid.message, 'environment variable ENCRYPTION_KEY_PREVIOUS')
    t.notMatch(invalid.message, short, 'too short for the schema: named, not printed')
  })

  t.test('a corrupt secrets file stops the start instead of being overwritten', async t => {
    const config = load(t)
    const file = path.join(config.data_dir, 'secrets.json')
    mkdirSync(config.data_dir, { recursive: true })
    writeFileSync(file, '{ not json', { mode: 0o600 })
    const error = refusal(t, () => resolveSecrets(config, captureLogger().logger), 'PARLEY_ERR_CONFIG_SECRETS')
    t.match(error.message, file)
    t.equal(readFileSync(file, 'utf8'), '{ not json')
  })
})
