import type { ChatErrorEvent, ChatEvent, ChatProvider, ChatRequest, ProviderCall } from '@parley/core'
import { startChat, uploadImage, type Opened } from './coze-api.js'
import { mapFailure, type CozeFailure } from './errors.js'
import { MessageError, toCozeMessages } from './messages.js'
import {
  botFor,
  channelSettings,
  CozeSettings,
  SECRET_SETTINGS,
  type ChannelSettings,
  type OAuthApp,
} from './settings.js'
import { readChat } from './stream.js'
import type { TokenStore } from './token-store.js'

/** The credential of one attempt: the app's OAuth access token, or the channel key (a PAT). */
interface Credential {
  readonly token: string
  readonly source: 'oauth' | 'pat'
}

/** Channels whose incomplete OAuth settings were reported already (once per snapshot). */
const reportedIncomplete = new WeakSet<object>()

/**
 * The `coze` provider: a channel serves Coze bots as models. It signs in with the
 * channel's OAuth app when one is set (falling back to the channel key, a personal access
 * token, when the exchange fails) or with the key alone, and translates `POST /v3/chat`'s
 * event stream into the gateway's events.
 */
export function cozeProvider(tokens: TokenStore): ChatProvider {
  return {
    settingsSchema: CozeSettings,
    secretSettings: SECRET_SETTINGS,
    chat: (request, call) => chat(tokens, request, call),
    // The bots a channel maps are its models: no round trip needed.
    listModels: call => Promise.resolve(Object.keys(channelSettings(call.target.settings, call.target.baseUrl).bots)),
  }
}

async function* chat(tokens: TokenStore, request: ChatRequest, call: ProviderCall): AsyncGenerator<ChatEvent> {
  const settings = channelSettings(call.target.settings, call.target.baseUrl)
  const bot = botFor(request.model, settings)
  if (!bot) {
    call.log.warn({ model: request.model }, 'no Coze bot is configured for this model on the channel (settings.bots)')
    yield {
      type: 'error',
      upstreamCode: 'bot_not_configured',
      message: `No Coze bot is configured for model ${request.model}`,
    }
    return
  }
  let credential = await credentialFor(tokens, settings, call)
  if ('type' in credential) {
    yield credential
    return
  }
  for (;;) {
    const secrets = [credential.token, call.target.apiKey]
    let opened: Opened
    try {
      opened = await open(bot, request, settings, credential.token, call)
    } catch (error) {
      if (!(error instanceof MessageError)) throw error
      yield {
        type: 'error',
        status: 400,
        retryable: false,
        upstreamCode: 'unsupported_message',
        message: error.message,
      }
      return
    }
    if (opened.ok) {
      yield* readChat(opened.body, secrets)
      return
    }
    const mapped = mapFailure(opened.failure, secrets)
    if (mapped.credentials && credential.source === 'oauth' && typeof settings.oauth === 'object') {
      // A token Coze no longer takes (revoked app, lost authorisation): nobody should use it again.
      await tokens.rejected(call.target.baseUrl, settings.oauth, credential.token)
      if (call.target.apiKey !== '') {
        call.log.warn(
          { upstream_code: mapped.event.upstreamCode ?? null, status: opened.failure.status ?? null },
          "Coze refused the OAuth access token; retrying with the channel's personal access token",
        )
        credential = { token: call.target.apiKey, source: 'pat' }
        continue
      }
    }
    yield mapped.event
    return
  }
}

/** Translates the conversation (uploading inline images) and starts the streamed chat. */
async function open(
  bot: string,
  request: ChatRequest,
  settings: ChannelSettings,
  token: string,
  call: ProviderCall,
): Promise<Opened> {
  let refusal: CozeFailure | undefined
  const upload = async (image: Parameters<typeof uploadImage>[2]): Promise<string> => {
    const uploaded = await uploadImage(call, token, image)
    if (uploaded.ok) return uploaded.id
    refusal = uploaded.failure
    throw new UploadRefused()
  }
  try {
    const messages = await toCozeMessages(request.messages, settings.systemMessages, upload)
    return await startChat(call, token, {
      bot_id: bot,
      user_id: call.userKey,
      stream: true,
      additional_messages: messages,
    })
  } catch (error) {
    if (error instanceof UploadRefused && refusal) return { ok: false, failure: refusal }
    throw error
  }
}

class UploadRefused extends Error {}

/**
 * The OAuth token when the channel has an app and the exchange works; otherwise the channel
 * key, with a warning the first time an exchange fails. Without either, an error event.
 */
async function credentialFor(
  tokens: TokenStore,
  settings: ChannelSettings,
  call: ProviderCall,
): Promise<Credential | ChatErrorEvent> {
  const pat = call.target.apiKey
  const oauth = settings.oauth
  if (oauth === undefined) {
    if (pat !== '') return { token: pat, source: 'pat' }
    return {
      type: 'error',
      upstreamCode: 'no_credentials',
      keyProblem: true,
      message: 'The Coze channel has neither an OAuth app nor a personal access token',
    }
  }
  if (oauth === 'incomplete') return incompleteApp(settings, call)
  const result = await tokens.token(call.target.baseUrl, oauth, call.dispatcher)
  if (result.ok) return { token: result.token, source: 'oauth' }
  const logged = { app_id: oauth.appId, reason: result.error.reason }
  if (pat !== '') {
    if (result.first)
      call.log.warn(logged, "Coze OAuth token exchange failed; using the channel's personal access token")
    return { token: pat, source: 'pat' }
  }
  if (result.first)
    call.log.warn(
      logged,
      'Coze OAuth token exchange failed and the channel has no personal access token to fall back on',
    )
  return exchangeFailed(oauth, result.error.refused, result.error.code)
}

function incompleteApp(settings: ChannelSettings, call: ProviderCall): Credential | ChatErrorEvent {
  if (!reportedIncomplete.has(settings)) {
    reportedIncomplete.add(settings)
    call.log.warn(
      "the Coze channel's OAuth settings are incomplete: oauth_app_id, oauth_key_id and oauth_private_key are all needed",
    )
  }
  if (call.target.apiKey !== '') return { token: call.target.apiKey, source: 'pat' }
  return {
    type: 'error',
    upstreamCode: 'oauth_incomplete',
    keyProblem: true,
    message: "The Coze channel's OAuth settings are incomplete",
  }
}

function exchangeFailed(app: OAuthApp, refused: boolean, code: string | undefined): ChatErrorEvent {
  const upstreamCode = code ?? 'oauth_exchange_failed'
  if (refused)
    return {
      type: 'error',
      status: 401,
      keyProblem: true,
      upstreamCode,
      message: `Coze refused the OAuth app ${app.appId}`,
    }
  return {
    type: 'error',
    status: 502,
    retryable: true,
    upstreamCode,
    message: 'No Coze access token could be obtained',
  }
}
