// Type declarations for @licet/client (the code is plain ES modules).

/** The code every licet verifier gives a refusal (the conformance vectors' "reason"). */
export type Reason =
  | 'malformed' | 'unknown-key' | 'revoked-key' | 'bad-signature'
  | 'wrong-organization' | 'wrong-user' | 'wrong-device' | 'wrong-url'
  | 'not-yet-valid' | 'issued-in-future' | 'too-long' | 'expired' | 'user-not-licensed'
  | 'untrusted';

export class VerifyError extends Error {
  readonly name: 'VerifyError';
  readonly reason: Reason;
}

/** A trusted public key (from parsePublicKeys). */
export interface TrustedKey {
  readonly id: string;
  readonly raw: Uint8Array;
  readonly spki: Uint8Array;
}

/** Key ID → key. */
export type TrustedKeys = Map<string, TrustedKey>;

export const OFFLINE_MAGIC: 'licet-offline-v1';

/** Reads every PEM "PUBLIC KEY" (Ed25519) in the text, keyed by key ID. */
export function parsePublicKeys(pem: string): Promise<TrustedKeys>;
/** Hex of the first 8 bytes of the SHA-256 of a raw 32-byte key. */
export function keyId(raw: Uint8Array): Promise<string>;
/** Uses another SubtleCrypto with Ed25519 (a polyfill, e.g. in React Native). */
export function useSubtleCrypto(subtle: SubtleCrypto | null): void;
/** The SubtleCrypto in use: the one given to useSubtleCrypto, else the platform's. */
export function subtleCrypto(): SubtleCrypto | undefined;

export type Bytes = Uint8Array | ArrayBuffer | ArrayBufferView;

export interface LeaseCheck {
  /** An empty or absent org, user or device is not compared (inspection); a device passes all three. */
  org?: string;
  user?: string;
  device?: string;
  /** The device clock (default: now). */
  now?: Date | number;
  /** Tolerated clock difference (default 300). */
  driftSeconds?: number;
  /** The longest lease (exp − iat) believed (default DEFAULT_MAX_LEASE_SECONDS, 7 days). */
  maxLeaseSeconds?: number;
  /** Key IDs the device knows to be revoked (from a signed key set). */
  revoked?: string[];
}

export const DEFAULT_MAX_LEASE_SECONDS: number;
export const MAX_OFFLINE_VALIDITY_SECONDS: number;

export interface Lease {
  version: number;
  org: string;
  user: string;
  device: string;
  licenseType: string;
  status: 'Licensed' | 'Temporary';
  issuedAt: string;
  expiresAt: string;
  keyId: string;
  role: string;
  server: string;
  /** The exact payload bytes that were verified. */
  payload: Uint8Array;
  signature: Uint8Array;
}

/** Verifies a lease (base64 as the check answers it, or the bytes). Throws VerifyError. */
export function verifyLease(lease: string | Bytes, signature: string | Bytes, keys: TrustedKeys, check?: LeaseCheck): Promise<Lease>;

export interface OfflineCheck {
  org: string;
  url: string;
  user: string;
  now?: Date | number;
  driftSeconds?: number;
  /** The longest validity (exp − iat) believed (default MAX_OFFLINE_VALIDITY_SECONDS, 366 days). */
  maxValiditySeconds?: number;
  revoked?: string[];
}

export interface OfflineLicense {
  version: number;
  kind: 'offline';
  serial: number;
  org: string;
  url: string;
  issuedAt: string;
  validFrom: string;
  validUntil: string;
  keyId: string;
  /** License type → user IDs. */
  users: Record<string, string[]>;
}

/** Verifies an offline license file's exact bytes for one user. Throws VerifyError. */
export function verifyOffline(file: Bytes | string, keys: TrustedKeys, check: OfflineCheck): Promise<{ license: OfflineLicense; licenseType: string }>;

/** The signed key set as GET /v1/keys carries it (its "keySet" member). */
export interface KeySetEnvelope {
  payload: string;
  signatures: { kid: string; sig: string }[];
}

export interface VerifiedKeySet {
  keys: { id: string; state: 'active' | 'retired'; key: TrustedKey }[];
  /** The key IDs it revokes. */
  revoked: string[];
  /** Whether a key the device trusted signed it. */
  anchored: boolean;
}

/** Verifies a signed key set against the trusted keys and the IDs known to be revoked. Throws VerifyError ('malformed' or 'untrusted'). */
export function verifyKeySet(envelope: KeySetEnvelope, trusted?: TrustedKeys, revoked?: string[]): Promise<VerifiedKeySet>;

/** A GUID's canonical form (upper case, hyphenated), or null. */
export function canonicalGUID(s: string): string | null;
export function sameGUID(a: string, b: string): boolean;
/** An organization URL's canonical form (docs/PROTOCOL.md), or null. */
export function canonicalURL(s: string): string | null;
export function sameURL(a: string, b: string): boolean;
export function normalizeURL(url: string): string;
export function offlineLocation(organizationUrl: string): string;
/** Standard padded base64 only; throws VerifyError('malformed') otherwise. */
export function decodeBase64(s: string): Uint8Array;
export function encodeBase64(b: Uint8Array): string;
/** UTC YYYY-MM-DDTHH:MM:SSZ to milliseconds; throws VerifyError('malformed') otherwise. */
export function parseTime(s: string): number;
/** Strict JSON: no duplicate keys, no keys differing only in case; numbers kept as literals. */
export function parseStrict(text: string): unknown;
/** A signed payload's bytes read strictly (UTF-8 without a byte order mark, then parseStrict). Throws VerifyError('malformed'). */
export function parseSignedJSON(bytes: Bytes): unknown;

/** The MobileClient record the device sends. */
export interface CheckRequest {
  organizationId: string;
  userId: string;
  deviceId: string;
  organizationUrl?: string;
  organizationName?: string;
  version?: string;
  edition?: string;
  deviceInfo?: string;
}

/** What the device keeps between checks (the Go client's store format). */
export interface State {
  request?: CheckRequest;
  /** base64 of the last verified lease's payload bytes, and its signature. */
  lease?: string;
  signature?: string;
  /** The latest time a signed document vouched for (RFC 3339). */
  latestTrusted?: string;
  /** The latest clock reading or believed iat (RFC 3339): the clock may not go back before it. */
  latestSeen?: string;
  /** Key ID → base64 of the raw 32-byte key, when the app configured none. */
  pinnedKeys?: Record<string, string>;
  /** Key IDs a verified key set revoked: never trusted again. */
  revokedKeys?: string[];
  /** When the signed key set was last fetched and applied (RFC 3339). */
  keysFetched?: string;
}

export interface Store {
  load(): Promise<State | null>;
  save(state: State): Promise<void>;
}

export interface StoreBackend {
  read(): Promise<Uint8Array | null>;
  write(bytes: Uint8Array): Promise<void>;
}

export function memoryStore(): Store;
/** AES-256-GCM under a key from the platform keystore (a non-extractable CryptoKey, or 32 bytes). */
export function encryptedStore(backend: StoreBackend, key: CryptoKey | Uint8Array): Store;

export interface ClientConfig {
  /** The primary server's URL. */
  primary: string;
  /** The backup server's URL. */
  backup?: string;
  /** Where the offline license is (default offlineLocation(request.organizationUrl)). */
  offlineURL?: string;
  request: CheckRequest;
  /** The pinned vendor keys. Without them the client fetches /v1/keys once over https and pins them in the store. */
  keys?: TrustedKeys;
  /** Lets the first key fetch use plain http (tests on loopback only). */
  allowInsecureKeyFetch?: boolean;
  store?: Store;
  fetch?: typeof fetch;
  /** One source, from connecting to the last byte (default 5000). */
  stepTimeoutMs?: number;
  /** The whole walk (default 15000). */
  deadlineMs?: number;
  driftSeconds?: number;
  /** How often the signed key set is fetched again to learn of revocations (default 86400; negative: only for an unknown key). */
  keyRefreshSeconds?: number;
  /** The longest lease believed (default 7 days). */
  maxLeaseSeconds?: number;
  /** The longest offline license believed (default 366 days). */
  maxOfflineValiditySeconds?: number;
  now?: () => Date;
}

export type Source = 'primary' | 'offline' | 'backup' | 'cache' | 'none';

export interface Step {
  source: Source;
  /** 'unreachable', 'forged', 'no-offline', 'clock-rollback', 'no-cache', 'cache-expired', 'no-trusted-keys', 'replayed', 'refused', 'store-corrupt', or a Reason ('revoked-key', 'issued-in-future', 'too-long', …). */
  code: string;
  reason: string;
}

export interface Outcome {
  licensed: boolean;
  status: string;
  licenseType: string;
  message: string;
  /** Who decided; 'none' when nothing could. */
  source: Source;
  expires: Date | null;
  lease: Lease | null;
  offline: OfflineLicense | null;
  /** Each source that did not decide, and why. */
  steps: Step[];
}

export class Client {
  constructor(config: ClientConfig);
  check(): Promise<Outcome>;
}
