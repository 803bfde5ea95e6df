using ConnectionTools.HelpBuilder;

return HelpBuild.Run(args, Console.Out, Console.Error);
