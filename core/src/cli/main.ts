#!/usr/bin/env node
import { tuneProcessForGateway } from '../runtime.js'
import { ensureSupportedNode } from './node-version.js'

// Nothing of the gateway loads on a Node it does not support (see node-version.ts).
await ensureSupportedNode()
// Before the gateway's modules load: V8's settings then hold for everything they allocate.
tuneProcessForGateway()
const { runCli } = await import('./run.js')

// Exit explicitly: after `start` stops (or a second signal gives up on draining) nothing the
// process still holds should keep it alive.
process.exit(await runCli(process.argv.slice(2), { out: process.stdout, err: process.stderr }))
