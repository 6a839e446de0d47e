/** OPC UA StatusCode -> reading quality. The top two bits of a StatusCode give its severity. */
import { Quality } from '../../protocols/index.js';

export function qualityFromStatus(statusValue: number): Quality {
  const severity = (statusValue >>> 30) & 0b11;
  if (severity === 0) return Quality.Good;
  if (severity === 1) return Quality.Uncertain;
  return Quality.Bad;
}
