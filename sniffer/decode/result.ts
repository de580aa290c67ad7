// The result shape shared by every hot-path decoder in sniffer/decode (STYLE.md §3): a decoder never
// throws; it returns what it read and where the next layer starts, or a reason from a closed union.

/** A successful decode: the value and the offset where the next layer (or item) starts. */
export interface DecodeOk<T> {
  readonly ok: true;
  readonly value: T;
  readonly next: number;
}

/** A failed decode with a reason from the decoder's closed union. */
export interface DecodeErr<R extends string> {
  readonly ok: false;
  readonly reason: R;
}

/** What every decoder returns. */
export type DecodeResult<T, R extends string> = DecodeOk<T> | DecodeErr<R>;

/** Builds a successful result. */
export function ok<T>(value: T, next: number): DecodeOk<T> {
  return { ok: true, value, next };
}

/** Builds a failed result. */
export function fail<R extends string>(reason: R): DecodeErr<R> {
  return { ok: false, reason };
}
