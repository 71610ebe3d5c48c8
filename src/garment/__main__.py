from garment.cli import main

main()
