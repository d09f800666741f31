namespace SharpInfer.Templates;

/// <summary>
/// Jinja2's default <c>Undefined</c>: a missing variable, attribute or item. It prints as nothing, iterates as
/// empty, is false and has length 0; arithmetic, ordering, attribute or item access and calls on it raise with the
/// message Jinja2 gives ("'x' is undefined", "'dict object' has no attribute 'y'").
/// </summary>
internal sealed class Undefined
{
    private readonly string? _name;
    private readonly object? _owner;
    private readonly bool _hasOwner;
    private readonly bool _isIndex;
    private readonly string? _hint;

    private Undefined(string? name, object? owner, bool hasOwner, bool isIndex, string? hint)
    {
        _name = name;
        _owner = owner;
        _hasOwner = hasOwner;
        _isIndex = isIndex;
        _hint = hint;
    }

    /// <summary>A variable that is not defined.</summary>
    public static Undefined Variable(string name) => new(name, null, false, false, null);

    /// <summary>An attribute a value does not have.</summary>
    public static Undefined Attribute(object? owner, string name) => new(name, owner, true, false, null);

    /// <summary>An item a container does not hold (a string key reads as an attribute, as Jinja2 words it).</summary>
    public static Undefined Item(object? owner, object? key) =>
        key is string s ? new(s, owner, true, false, null) : new(PyFormat.Repr(key), owner, true, true, null);

    /// <summary>An undefined value with a message of its own.</summary>
    public static Undefined WithHint(string hint) => new(null, null, false, false, hint);

    /// <summary>The message raised when this value is used in a way that needs a real value.</summary>
    public string Message =>
        _hint ?? (!_hasOwner ? $"'{_name}' is undefined"
            : _isIndex ? $"{OwnerDescription(_owner)} has no element {_name}"
            : $"'{OwnerDescription(_owner)}' has no attribute '{_name}'");

    private static string OwnerDescription(object? owner) => owner is null ? "None" : $"{PyOps.TypeName(owner)} object";

    /// <summary>The error for using this value.</summary>
    public TemplateException Error() => new(Message);
}
