/**
 * RFC 9218 priority parameters from the `priority` field, a Structured Fields dictionary
 * (RFC 8941 §3.2) such as `u=1, i`. Unknown members and invalid values are ignored, as
 * RFC 9218 §4 requires, leaving the defaults (urgency 3, not incremental).
 */
export interface PriorityParams {
  urgency: number;
  incremental: boolean;
}

export const DEFAULT_URGENCY = 3;

export function parsePriority(value: string | undefined): PriorityParams {
  const result: PriorityParams = { urgency: DEFAULT_URGENCY, incremental: false };
  if (!value) return result;
  for (const member of value.split(',')) {
    const eq = member.indexOf('=');
    const key = (eq < 0 ? member : member.slice(0, eq)).trim();
    const raw = eq < 0 ? undefined : member.slice(eq + 1).split(';')[0]!.trim();
    if (key === 'u') {
      if (raw !== undefined && /^[0-7]$/.test(raw)) result.urgency = Number(raw);
    } else if (key === 'i') {
      // A bare key is boolean true (RFC 8941 §3.2); ?0 / ?1 are the explicit forms.
      if (raw === undefined || raw === '?1') result.incremental = true;
      else if (raw === '?0') result.incremental = false;
    }
  }
  return result;
}
