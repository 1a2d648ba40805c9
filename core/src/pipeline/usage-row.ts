import type { UsageStatus } from '../usage/entities.js'
import { EstimateBudget, estimatePromptTokens, estimateTokens } from '../usage/tokens.js'
import type { UsageWriter } from '../usage/writer.js'
import { elapsedMs, type Call } from './call.js'
import type { TokenUsage } from './stream-tap.js'

type RowUsage = TokenUsage & { estimated: boolean }

/**
 * The one usage row of a call, written when it ends whatever the ending, and the watches told
 * the same figures. The tokens are the upstream's, or our tokenizer's when it sent none.
 */
export class UsageRows {
  constructor(private readonly writer: UsageWriter) {}

  record(call: Call, status: UsageStatus, errorType: string | null, produced: boolean): void {
    if (call.recorded) return
    call.recorded = true
    const usage = usageOf(call, produced)
    const principal = call.principal
    const request = call.request
    this.writer.record({
      requestId: request.id,
      ip: request.parley.ip,
      principalKind: principal.kind,
      userId: 'userId' in principal ? Number(principal.userId) : null,
      username: 'name' in principal ? principal.name : null,
      tokenId: principal.kind === 'api_token' ? Number(principal.tokenId) : null,
      model: call.model,
      // A personal upstream is no catalog channel: its row names the config, never the key.
      channelId: call.personal ? null : (call.channel?.id ?? null),
      channelName: call.channel?.name ?? null,
      promptTokens: usage.promptTokens,
      completionTokens: usage.completionTokens,
      estimated: usage.estimated,
      status,
      errorType,
      latencyMs: elapsedMs(call.startedAt),
      ttfbMs: call.ttfbMs ?? null,
      endpoint: call.endpoint,
      stream: call.stream,
    })
    // An API token with a quota counts its calls' tokens (the principal has a meter only then).
    if (principal.kind === 'api_token' && principal.meter !== undefined)
      principal.meter.add(usage.promptTokens + usage.completionTokens)
    const ended = call.watch?.ended
    if (ended) {
      try {
        ended({
          status,
          errorType,
          produced,
          channelId: call.personal ? null : (call.channel?.id ?? null),
          promptTokens: usage.promptTokens,
          completionTokens: usage.completionTokens,
          estimated: usage.estimated,
        })
      } catch (error) {
        request.log.warn({ err: error }, 'a call watch failed when the call ended')
      }
    }
  }
}

/** The upstream's counts, or our tokenizer's (once per call: the answer's own usage and the row agree). */
export function usageOf(call: Call, produced: boolean): RowUsage {
  const counted = call.usage
  if (counted)
    return { promptTokens: counted.promptTokens, completionTokens: counted.completionTokens, estimated: false }
  if (!produced) return { promptTokens: 0, completionTokens: 0, estimated: false }
  return (call.estimate ??= estimate(call))
}

/**
 * Prompt and answer counted with OpenAI's BPE, each within its own time budget (a few ms in
 * all, whatever the text: usage/tokens.ts).
 */
function estimate(call: Call): TokenUsage & { estimated: true } {
  const model = call.upstreamModel
  let promptTokens = 0
  let completionTokens = 0
  try {
    promptTokens = estimatePromptTokens(call.format.promptMessages(call.body), model, new EstimateBudget())
  } catch {
    promptTokens = 0
  }
  try {
    completionTokens = estimateTokens(call.output(), model, new EstimateBudget())
  } catch {
    completionTokens = 0
  }
  return { promptTokens, completionTokens, estimated: true }
}
