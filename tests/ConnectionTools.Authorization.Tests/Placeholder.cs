namespace ConnectionTools.Authorization.Tests;
