from beast_observatory.cli.app import main

main()
