from aptlink.cli import main

main()
