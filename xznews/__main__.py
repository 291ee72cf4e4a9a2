from xznews.cli import main

main()
