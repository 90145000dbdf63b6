// The typed result every wire/ parser returns: parsers never throw on bad network input (ARCHITECTURE rule 5).

/** Why a packet was rejected. */
export type WireErrorCode =
  | 'truncated'
  | 'bad-version'
  | 'bad-header-length'
  | 'bad-total-length'
  | 'bad-checksum'
  | 'bad-option'
  | 'bad-data-offset'
  | 'unsupported'
  | 'malformed';

export interface WireError {
  code: WireErrorCode;
  message: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: WireError };

/** Wrap a successfully parsed value. */
export function ok<T>(value: T): Parsed<T> {
  return { ok: true, value };
}

/** A failed parse with a code and a human-readable reason. */
export function fail<T = never>(code: WireErrorCode, message: string): Parsed<T> {
  return { ok: false, error: { code, message } };
}
