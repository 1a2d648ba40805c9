import type { MigrationStep } from '@parley/core'

/** API tokens as gateways offer them: an on/off switch, expiry, models, addresses, RPM and a token quota. */
export const m0003ApiTokenLimits: MigrationStep = {
  name: '0003_api_token_limits',
  up: [
    'alter table `identity_api_tokens` add column `enabled` integer not null default true;',
    'alter table `identity_api_tokens` add column `expires_at` datetime null;',
    'alter table `identity_api_tokens` add column `models` text null;',
    'alter table `identity_api_tokens` add column `allowed_ips` text null;',
    'alter table `identity_api_tokens` add column `rpm` integer null;',
    'alter table `identity_api_tokens` add column `quota` bigint null;',
    'alter table `identity_api_tokens` add column `used_tokens` bigint not null default 0;',
  ],
  down: [
    'alter table `identity_api_tokens` drop column `used_tokens`;',
    'alter table `identity_api_tokens` drop column `quota`;',
    'alter table `identity_api_tokens` drop column `rpm`;',
    'alter table `identity_api_tokens` drop column `allowed_ips`;',
    'alter table `identity_api_tokens` drop column `models`;',
    'alter table `identity_api_tokens` drop column `expires_at`;',
    'alter table `identity_api_tokens` drop column `enabled`;',
  ],
}
