from kithkin.daemon.cli import main

main()
