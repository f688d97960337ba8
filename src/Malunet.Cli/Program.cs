return Malunet.Cli.MalunetCli.Run(args);
