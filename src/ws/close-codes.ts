/**
 * Close codes (RFC 6455 §7.4). 1004 is reserved; 1005 and 1006 only report that a close frame
 * had no code or that none arrived, and must never be sent (§7.4.1); 1015 is TLS's. 1012-1014
 * are IANA-registered since (Service Restart, Try Again Later, Bad Gateway). 3000-4999 are for
 * libraries and applications (§7.4.2). ws accepts exactly this set, on both sides.
 */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

/** "No status code was present" (§7.4.1): what a close frame without a payload reports. */
export const NO_STATUS = 1005;
/** "Closed abnormally", without a close frame (§7.4.1). */
export const ABNORMAL = 1006;
