"""Uploaded images: decoding them safely, re-encoding what is kept, and telling stored
images' true type when they are served."""
