/** How MySQL prints a DOUBLE: the binlog JSON decoder and the record renderer both need it. */
/**
 * A double as MySQL's my_gcvt prints it with room to spare: the shortest digits that
 * read back as the same double, in fixed notation while the decimal point sits within
 * 15 places either way (or the digits reach past it), else `d.ddde[-]x` with no `+` and
 * no padding. Negative zero prints `-0`, as my_gcvt does for a stored -0.
 */
export function formatMysqlDouble(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const sign = value < 0 ? '-' : '';
  const [mantissa, exponent] = Math.abs(value).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  // value = 0.d1d2... x 10^decpt
  const decpt = Number(exponent) + 1;
  if (decpt >= -14 && decpt <= 0) return `${sign}0.${'0'.repeat(-decpt)}${digits}`;
  if (decpt > 0 && (decpt <= 15 || digits.length > decpt)) {
    return digits.length <= decpt
      ? `${sign}${digits}${'0'.repeat(decpt - digits.length)}`
      : `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
  }
  const fraction = digits.length > 1 ? `.${digits.slice(1)}` : '';
  return `${sign}${digits[0]}${fraction}e${decpt - 1}`;
}
