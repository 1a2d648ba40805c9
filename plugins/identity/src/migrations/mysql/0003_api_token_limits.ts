import type { MigrationStep } from '@parley/core'

/** API tokens as gateways offer them: an on/off switch, expiry, models, addresses, RPM and a token quota. */
export const m0003ApiTokenLimits: MigrationStep = {
  name: '0003_api_token_limits',
  up: [
    'alter table `identity_api_tokens` add `enabled` tinyint(1) not null default true, add `expires_at` datetime null, add `models` text null, add `allowed_ips` text null, add `rpm` int null, add `quota` bigint null, add `used_tokens` bigint not null default 0;',
  ],
  down: [
    'alter table `identity_api_tokens` drop column `used_tokens`, drop column `quota`, drop column `rpm`, drop column `allowed_ips`, drop column `models`, drop column `expires_at`, drop column `enabled`;',
  ],
}
