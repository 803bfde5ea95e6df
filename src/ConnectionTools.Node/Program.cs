using ConnectionTools.Errors;
using ConnectionTools.Node;

NodeOptions options;
try
{
    options = NodeOptions.Parse(args);
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine("usage: ConnectionTools.Node --store PATH [--create] [--public-url URL] [--urls http://127.0.0.1:PORT] [--job-poll SECONDS] [--no-jobs] | --store PATH [--create] --private [--interval SECONDS] [--job-poll SECONDS] [--no-jobs]");
    return 2;
}

try
{
    if (options.Private)
    {
        await NodeHost.BuildPrivate(args, options).RunAsync();
    }
    else
    {
        await NodeHost.BuildPublic(args, options).RunAsync();
    }
}
catch (ConnectionToolsException e)
{
    // A bad --public-url or an unusable store: say what and how to fix it, without a stack trace.
    Console.Error.WriteLine($"{e.ErrorId}: {e.Message}");
    if (e.RecommendedAction != null)
    {
        Console.Error.WriteLine(e.RecommendedAction);
    }

    return 1;
}

return 0;
