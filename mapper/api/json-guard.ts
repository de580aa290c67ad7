// Guards JSON parsing of untrusted bodies: a linear scan bounds the nesting depth before
// JSON.parse runs, so a body of a million '[' costs one pass and a clear error, not a deep parse.

/** The deepest nesting a report batch needs is 4 (batch → dns → record → ips); allow some slack. */
export const MAX_JSON_DEPTH = 16;

/** Returns the maximum nesting depth of JSON text, stopping early once it exceeds `limit`. */
export function jsonDepthExceeds(text: string, limit: number = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** Parses untrusted JSON text with a depth bound. */
export function parseJsonBounded(
  text: string,
  limit: number = MAX_JSON_DEPTH,
):
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly reason: 'too-deep' | 'malformed'; readonly message: string } {
  if (jsonDepthExceeds(text, limit))
    return { ok: false, reason: 'too-deep', message: `JSON nesting is deeper than ${limit} levels` };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, reason: 'malformed', message: `body is not valid JSON: ${(err as Error).message}` };
  }
}
