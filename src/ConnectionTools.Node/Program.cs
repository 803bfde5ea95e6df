using ConnectionTools.Node;

NodeOptions options;
try
{
    options = NodeOptions.Parse(args);
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine("usage: ConnectionTools.Node --store PATH [--public-url URL] [--urls http://127.0.0.1:PORT] | --store PATH --private [--interval SECONDS]");
    return 2;
}

if (options.Private)
{
    await NodeHost.BuildPrivate(args, options).RunAsync();
}
else
{
    await NodeHost.BuildPublic(args, options).RunAsync();
}

return 0;
