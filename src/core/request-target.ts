/** Request-target forms (RFC 9112 §3.2). */

export interface OriginTarget {
  /** The authority to use, when the target carried one. */
  authority: string | undefined;
  /** Path and query, origin-form. */
  target: string;
}

const ABSOLUTE = /^https?:\/\/([^/?#]*)([^#]*)/i;

/**
 * RFC 9112 §3.2.2: a server receiving the absolute-form MUST ignore Host and use the
 * target's authority. Origin-form (and `*`) pass through unchanged.
 */
export function toOriginForm(requestTarget: string): OriginTarget {
  if (requestTarget.charCodeAt(0) === 47 /* / */ || requestTarget === '*') return { authority: undefined, target: requestTarget };
  const m = ABSOLUTE.exec(requestTarget);
  if (!m) return { authority: undefined, target: requestTarget };
  const rest = m[2]!;
  return { authority: m[1]!, target: rest === '' ? '/' : rest.startsWith('?') ? '/' + rest : rest };
}
