"""Arena's web app: ``python app.py`` (see ``python app.py --help``)."""

from arena.web import main

if __name__ == "__main__":
    main()
