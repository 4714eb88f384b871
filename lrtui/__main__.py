from lrtui.cli import main_exit

main_exit()
