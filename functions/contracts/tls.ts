/**
 * How a dump or restore connects to its database. `verify-full`: TLS, with the server's certificate checked
 * against a trusted CA and its name against the host; `require`: TLS, certificate unchecked (encrypted, but
 * open to an active man in the middle); `disable`: no TLS. Defaults are in functions/dumps/tls.ts.
 */
export const TLS_MODES = ['verify-full', 'require', 'disable'] as const;
export type TlsMode = (typeof TLS_MODES)[number];
