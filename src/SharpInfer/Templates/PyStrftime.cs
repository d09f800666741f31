using System.Globalization;
using System.Text;

namespace SharpInfer.Templates;

/// <summary>
/// Python's <c>datetime.strftime</c> in the C locale (what <c>strftime_now</c> formats), including glibc's
/// <c>%-d</c> style no-padding flag; unknown directives are copied as written.
/// </summary>
internal static class PyStrftime
{
    private static readonly string[] Days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
    private static readonly string[] Months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

    public static string Format(DateTimeOffset when, string format)
    {
        var t = when.DateTime;
        var sb = new StringBuilder();
        for (int i = 0; i < format.Length; i++)
        {
            if (format[i] != '%' || i + 1 >= format.Length)
            {
                sb.Append(format[i]);
                continue;
            }
            bool noPad = format[i + 1] == '-' && i + 2 < format.Length;
            char d = format[noPad ? i + 2 : i + 1];
            string? text = Directive(t, d);
            if (text is null)
            {
                sb.Append(format, i, noPad ? 3 : 2);
            }
            else
            {
                if (noPad && text.Length > 1 && char.IsAsciiDigit(text[0])) text = text.TrimStart('0').PadLeft(1, '0');
                sb.Append(text);
            }
            i += noPad ? 2 : 1;
        }
        return sb.ToString();
    }

    private static string? Directive(DateTime t, char d)
    {
        var c = CultureInfo.InvariantCulture;
        int hour12 = t.Hour % 12 == 0 ? 12 : t.Hour % 12;
        return d switch
        {
            'a' => Days[(int)t.DayOfWeek][..3],
            'A' => Days[(int)t.DayOfWeek],
            'b' or 'h' => Months[t.Month - 1][..3],
            'B' => Months[t.Month - 1],
            'd' => t.Day.ToString("00", c),
            'e' => t.Day.ToString(c).PadLeft(2),
            'm' => t.Month.ToString("00", c),
            'y' => (t.Year % 100).ToString("00", c),
            'Y' => t.Year.ToString(c),
            'H' => t.Hour.ToString("00", c),
            'I' => hour12.ToString("00", c),
            'M' => t.Minute.ToString("00", c),
            'S' => t.Second.ToString("00", c),
            'f' => (t.Ticks % TimeSpan.TicksPerSecond / 10).ToString("000000", c),
            'p' => t.Hour < 12 ? "AM" : "PM",
            'j' => t.DayOfYear.ToString("000", c),
            'w' => ((int)t.DayOfWeek).ToString(c),
            'u' => (t.DayOfWeek == DayOfWeek.Sunday ? 7 : (int)t.DayOfWeek).ToString(c),
            'U' => ((t.DayOfYear + 6 - (int)t.DayOfWeek) / 7).ToString("00", c),
            'W' => ((t.DayOfYear + 6 - ((int)t.DayOfWeek + 6) % 7) / 7).ToString("00", c),
            // strftime_now formats a naive local time in Hugging Face's implementation: no zone to print.
            'z' or 'Z' => "",
            'c' => $"{Days[(int)t.DayOfWeek][..3]} {Months[t.Month - 1][..3]} {t.Day,2} {t:HH:mm:ss} {t.Year}",
            'x' => t.ToString("MM/dd/yy", c),
            'X' => t.ToString("HH:mm:ss", c),
            'D' => t.ToString("MM/dd/yy", c),
            'F' => t.ToString("yyyy-MM-dd", c),
            'T' => t.ToString("HH:mm:ss", c),
            'R' => t.ToString("HH:mm", c),
            'n' => "\n",
            't' => "\t",
            '%' => "%",
            _ => null,
        };
    }
}
