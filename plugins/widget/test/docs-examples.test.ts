import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { createClient, widgetGateway } from './helpers.js'

/** The copy-paste examples of docs/widget.md, run as they are against a gateway. */

const run = promisify(execFile)
const doc = readFileSync(new URL('../../../docs/widget.md', import.meta.url), 'utf8')

function block(heading: string, language: string): string {
  const section = doc.slice(doc.indexOf(`### ${heading}`))
  const start = section.indexOf(`\`\`\`${language}\n`) + language.length + 4
  return section.slice(start, section.indexOf('\n```', start))
}

const examples = [
  {
    name: 'Node',
    file: 'session.mjs',
    source: () =>
      `${block('Node', 'js')}\nconsole.log(JSON.stringify(await widgetSession(process.env.GATEWAY, process.env.CLIENT, process.env.SECRET, 'doc-node', 'Doc')))\n`,
    command: (file: string) => [process.execPath, [file]] as const,
  },
  {
    name: 'Python',
    file: 'session.py',
    source: () =>
      `${block('Python', 'python')}\nimport os\nprint(json.dumps(widget_session(os.environ["GATEWAY"], os.environ["CLIENT"], os.environ["SECRET"], "doc-python", "李雷")))\n`,
    command: (file: string) => ['python3', [file]] as const,
  },
  {
    name: 'curl and openssl',
    file: 'session.sh',
    // The first line sets the three variables the test passes in.
    source: () => block('curl and openssl', 'sh').split('\n').slice(1).join('\n'),
    command: (file: string) => ['bash', [file]] as const,
  },
]

t.test('each example gets a session token from a real gateway', async t => {
  const { gateway } = await widgetGateway(t, { listen: true })
  const client = await createClient(gateway)
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-widget-docs-'))
  for (const example of examples) {
    const file = path.join(dir, example.file)
    writeFileSync(file, example.source())
    const [command, args] = example.command(file)
    const { stdout } = await run(command, [...args], {
      env: { ...process.env, GATEWAY: gateway.url as string, CLIENT: client.client_id, SECRET: client.secret },
    })
    t.match(JSON.parse(stdout.trim()), { session_token: /^pws_/, expires_in: 1800 }, example.name)
  }
})
