"""GitHub's expression language (`${{ … }}`): lexer, parser, evaluator, functions, templates.

Pure: no I/O except `hashFiles`, which is handed in by the caller as an extension function.
"""
