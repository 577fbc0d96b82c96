from crowdloop.cli import main

main()
