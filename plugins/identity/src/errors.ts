import { defineErrors } from '@parley/core'

/**
 * Every error the identity plugin answers with; the seeds ask for one `type` per cause. Each
 * has its Simplified Chinese message (callers read zh-CN or en), with the same `{name}` placeholders; the
 * kernel's error envelope picks it for callers whose `Accept-Language` prefers Chinese.
 */
export const identityErrors = defineErrors({
  PARLEY_ERR_IDENTITY_EMAIL_TAKEN: {
    status: 409,
    type: 'email_taken',
    message: 'This email is already registered',
    zh: '该邮箱已被注册',
  },
  PARLEY_ERR_IDENTITY_EMAIL_INVALID: {
    status: 400,
    type: 'invalid_email',
    message: 'This is not a valid email address',
    zh: '这不是有效的邮箱地址',
  },
  PARLEY_ERR_IDENTITY_USERNAME_TAKEN: {
    status: 409,
    type: 'username_taken',
    message: 'This username is already taken',
    zh: '该用户名已被占用',
  },
  PARLEY_ERR_IDENTITY_USERNAME_INVALID: {
    status: 400,
    type: 'invalid_username',
    message: 'A username has 2 to 64 characters and no control, invisible or text-direction characters',
    zh: '用户名需为 2 到 64 个字符，且不能包含控制字符、不可见字符或文字方向控制字符',
  },
  PARLEY_ERR_IDENTITY_PASSWORD_MISMATCH: {
    status: 400,
    type: 'password_mismatch',
    message: 'The password and its confirmation differ',
    zh: '两次输入的密码不一致',
  },
  PARLEY_ERR_IDENTITY_PASSWORD_WEAK: {
    status: 400,
    type: 'weak_password',
    message: 'A password needs at least {min} characters (at most {max})',
    zh: '密码至少需要 {min} 个字符（最多 {max} 个）',
  },
  PARLEY_ERR_IDENTITY_PASSWORD_COMMON: {
    status: 400,
    type: 'common_password',
    message: 'This password is one of the most common ones, which are guessed first; choose another',
    zh: '这是最常见的密码之一，会被最先猜到，请换一个',
  },
  PARLEY_ERR_IDENTITY_PASSWORD_PERSONAL: {
    status: 400,
    type: 'personal_password',
    message: 'The password must not contain your username or your email address',
    zh: '密码不能包含您的用户名或邮箱地址',
  },
  PARLEY_ERR_IDENTITY_EMAIL_NOT_FOUND: {
    status: 401,
    type: 'email_not_found',
    message: 'No account is registered with this email',
    zh: '该邮箱尚未注册',
  },
  PARLEY_ERR_IDENTITY_WRONG_PASSWORD: {
    status: 401,
    type: 'wrong_password',
    message: 'The password is wrong',
    zh: '密码错误',
  },
  PARLEY_ERR_IDENTITY_BAD_CREDENTIALS: {
    status: 401,
    type: 'invalid_credentials',
    message: 'The email or the password is wrong',
    zh: '邮箱或密码错误',
  },
  PARLEY_ERR_IDENTITY_ADMIN_CREDENTIALS: {
    status: 401,
    type: 'invalid_credentials',
    message: 'The username or the password is wrong',
    zh: '用户名或密码错误',
  },
  PARLEY_ERR_IDENTITY_CURRENT_PASSWORD: {
    status: 400,
    type: 'wrong_password',
    message: 'The current password is wrong',
    zh: '当前密码错误',
  },
  PARLEY_ERR_IDENTITY_DISABLED: {
    status: 403,
    type: 'account_disabled',
    message: 'This account is disabled',
    zh: '该账号已被停用',
  },
  PARLEY_ERR_IDENTITY_REGISTRATION_CLOSED: {
    status: 403,
    type: 'registration_closed',
    message: 'Registration is closed on this site',
    zh: '本站已关闭注册',
  },
  PARLEY_ERR_IDENTITY_REFRESH_INVALID: {
    status: 401,
    type: 'invalid_refresh_token',
    message: 'The refresh token is invalid, expired or already used; sign in again',
    zh: '刷新令牌无效、已过期或已被使用，请重新登录',
  },
  PARLEY_ERR_IDENTITY_TOKEN_INVALID: {
    status: 401,
    type: 'invalid_token',
    message: 'The access token is invalid',
    zh: '访问令牌无效',
  },
  PARLEY_ERR_IDENTITY_TOKEN_EXPIRED: {
    status: 401,
    type: 'token_expired',
    message: 'The access token has expired; refresh it',
    zh: '访问令牌已过期，请刷新',
  },
  PARLEY_ERR_IDENTITY_API_TOKEN_INVALID: {
    status: 401,
    type: 'invalid_api_key',
    message: 'The API token is invalid or revoked',
    zh: 'API 令牌无效或已被吊销',
  },
  PARLEY_ERR_IDENTITY_THROTTLED: {
    status: 429,
    type: 'rate_limit_exceeded',
    message: 'Too many failed attempts; try again in {seconds} s',
    zh: '失败次数过多，请 {seconds} 秒后重试',
  },
  PARLEY_ERR_IDENTITY_REGISTER_THROTTLED: {
    status: 429,
    type: 'rate_limit_exceeded',
    message: 'Too many accounts were registered from your address ({limit} per hour); try again in {seconds} s',
    zh: '您的地址注册的账号过多（每小时最多 {limit} 个），请 {seconds} 秒后重试',
  },
  PARLEY_ERR_IDENTITY_CHALLENGE_FAILED: {
    status: 400,
    type: 'challenge_failed',
    message: 'The challenge was not passed; solve it and try again',
    zh: '未通过人机验证，请完成验证后重试',
  },
  PARLEY_ERR_IDENTITY_GUEST_PASS_REQUIRED: {
    status: 401,
    type: 'challenge_required',
    message:
      'Guest chat asks for a challenge first: solve it, send its token to POST /api/auth/guest-pass and the pass it returns as X-Parley-Guest-Pass (or sign in)',
    zh: '访客聊天需要先完成人机验证：将验证令牌发送到 POST /api/auth/guest-pass，并以 X-Parley-Guest-Pass 请求头携带返回的通行证（或登录）',
  },
  PARLEY_ERR_IDENTITY_GUEST_DISABLED: {
    status: 403,
    type: 'guest_disabled',
    message: 'Guest access is off on this site; sign in to chat',
    zh: '本站未开放访客访问，请登录后聊天',
  },
  PARLEY_ERR_IDENTITY_CHALLENGE_DOWN: {
    status: 503,
    type: 'service_unavailable',
    message: 'The challenge cannot be verified right now; try again shortly',
    zh: '暂时无法完成人机验证，请稍后重试',
  },
  PARLEY_ERR_IDENTITY_SESSIONS_DOWN: {
    status: 503,
    type: 'service_unavailable',
    message: 'Console sessions cannot be checked right now; try again shortly',
    zh: '暂时无法校验管理后台会话，请稍后重试',
  },
  PARLEY_ERR_IDENTITY_COUNTERS_DOWN: {
    status: 503,
    type: 'service_unavailable',
    message: 'Sign-in is briefly unavailable; try again shortly',
    zh: '登录服务暂时不可用，请稍后重试',
  },
  PARLEY_ERR_IDENTITY_TOKEN_NAME_TAKEN: {
    status: 409,
    type: 'token_name_taken',
    message: 'You already have a token named {name}',
    zh: '您已有名为 {name} 的令牌',
  },
  PARLEY_ERR_IDENTITY_API_TOKEN_DISABLED: {
    status: 403,
    type: 'api_token_disabled',
    message: 'This API token is switched off; its owner can switch it on again on the tokens page',
    zh: '此 API 令牌已停用，其所有者可在令牌页面重新启用',
  },
  PARLEY_ERR_IDENTITY_API_TOKEN_EXPIRED: {
    status: 403,
    type: 'api_token_expired',
    message: 'This API token expired on {date}',
    zh: '此 API 令牌已于 {date} 过期',
  },
  PARLEY_ERR_IDENTITY_API_TOKEN_IP: {
    status: 403,
    type: 'ip_not_allowed',
    message: 'This API token may not be used from {ip}',
    zh: '此 API 令牌不允许从 {ip} 使用',
  },
  PARLEY_ERR_IDENTITY_API_TOKEN_QUOTA: {
    status: 403,
    type: 'token_quota_exhausted',
    message: 'This API token used its quota of {quota} tokens',
    zh: '此 API 令牌已用完 {quota} 个 token 的额度',
  },
  PARLEY_ERR_IDENTITY_TOKEN_IP_INVALID: {
    status: 400,
    type: 'invalid_request',
    message: '{value} is not an IP address or a CIDR range (such as 203.0.113.0/24)',
    zh: '{value} 不是 IP 地址或 CIDR 网段（例如 203.0.113.0/24）',
  },
  PARLEY_ERR_IDENTITY_TOKEN_EXPIRY_INVALID: {
    status: 400,
    type: 'invalid_request',
    message: 'The expiry must be a date and time in the future',
    zh: '过期时间必须是将来的某个时间',
  },
  PARLEY_ERR_IDENTITY_TOKEN_PROTECTED: {
    status: 409,
    type: 'token_protected',
    message: "The portal's chat token is managed by the portal and cannot be changed here",
    zh: '聊天页面的 chat 令牌由门户管理，不能在此修改',
  },
  PARLEY_ERR_IDENTITY_TOKEN_NOT_FOUND: { status: 404, type: 'not_found', message: 'No such token', zh: '令牌不存在' },
  PARLEY_ERR_IDENTITY_USER_NOT_FOUND: { status: 404, type: 'not_found', message: 'No such user', zh: '用户不存在' },
  PARLEY_ERR_IDENTITY_GROUP_NOT_FOUND: {
    status: 404,
    type: 'group_not_found',
    message: 'Group {name} does not exist',
    zh: '分组 {name} 不存在',
  },
  PARLEY_ERR_IDENTITY_GROUP_EXISTS: {
    status: 409,
    type: 'group_exists',
    message: 'Group {name} already exists',
    zh: '分组 {name} 已存在',
  },
  PARLEY_ERR_IDENTITY_GROUP_IN_USE: {
    status: 409,
    type: 'group_in_use',
    message: 'Group {name} still has {count} member(s)',
    zh: '分组 {name} 仍有 {count} 个成员',
  },
  PARLEY_ERR_IDENTITY_LAST_ROOT: {
    status: 409,
    type: 'last_root',
    message: 'The last active root account cannot lose its role or be disabled',
    zh: '最后一个启用的 root 账号不能被降级或停用',
  },
  PARLEY_ERR_IDENTITY_ROOT_ONLY: {
    status: 403,
    type: 'forbidden',
    message: 'Only a root account can grant the root role or change a root account',
    zh: '只有 root 账号可以授予 root 角色或修改 root 账号',
  },
  PARLEY_ERR_IDENTITY_GROUP_PROTECTED: {
    status: 409,
    type: 'group_protected',
    message: 'Group {name} is where new users go; it cannot be deleted',
    zh: '分组 {name} 是新用户的默认分组，不能删除',
  },
})
