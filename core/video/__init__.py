"""Reading and writing frame sequences (video files, image folders) with atomic, never-overwriting writes."""
