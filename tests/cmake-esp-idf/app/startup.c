/* Stands in for ESP-IDF's startup code (esp_system), which calls the
 * application's app_main from the `main` component's library. */
int app_main(void);

int main(void)
{
    return app_main();
}
